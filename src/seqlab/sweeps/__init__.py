"""A sweep as data: its jobs (jobs), the settings its seed replicates share (replicates)
and their statistics (stats). No torch, no plotting: the report and the commands build
on it."""
