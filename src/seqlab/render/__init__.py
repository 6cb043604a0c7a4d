"""What seqlab writes for people to read: tables (CSV, Markdown) and figures (PNG and
TensorBoard images). matplotlib is imported only when a figure is drawn."""
