"""The sweep report: what a whole multirun did, as tables, plots and a TensorBoard view
named by the swept values (`summary.write_report`). A light module: it starts fast."""
