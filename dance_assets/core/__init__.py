"""Pure logic on paths, DataFrames and tensors, one package per pipeline stage, in the
order each may import the ones before it: lake (the lake and what every stage shares),
ingest, curation, learning, evaluation, scoring; and synthetic (made-up videos), which
may use lake and ingest and which only tests, benchmarks and the CLI's generate and demo
commands use. Nothing in here imports Dagster (dance_assets_tests/test_house.py checks
all of this).
"""
