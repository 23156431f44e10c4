"""One module per report of bench/run.py (a scenario's table(s) and targets).

Each has ``run(ctx) -> {row: [result, ...]}`` (or ``{table: {row: [...]}}``):
it runs its jobs, prints its tables into the report, appends its targets to
``ctx.summary`` and returns the raw results that ``--json`` writes."""
