"""What every report of bench/run.py shares: the contenders, running the scenario
scripts (repeats interleaved), the tables, the targets' checks and the report's
text. A report module (bench/reports/) builds its jobs from these and prints
its own table(s)."""
