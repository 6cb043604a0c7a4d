"""What seqlab makes of finished runs and sweeps.

Per-run analyses (base.py: the contract; one module each) run after a model is tested:
length generalisation, the confusion report, the curriculum report. The sweep report
(sweep.py, sweep_plots.py) summarises a multirun. tables.py and plots.py write what all of
them write: CSV and Markdown tables, and figures as PNG and in TensorBoard.
"""
