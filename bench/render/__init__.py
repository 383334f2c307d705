"""What bench/report.py fills its templates with: the tables and plots of
each results file, and their number formats."""
