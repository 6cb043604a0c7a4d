"""Per-run analyses: what runs after a model is tested (base.py: the contract; one module
each): length generalisation, the confusion report, the curriculum report. They write
tables and figures through seqlab.render; the sweep report is seqlab.report's.
"""
