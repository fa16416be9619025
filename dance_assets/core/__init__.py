"""Pure logic on paths, DataFrames and tensors; nothing in here imports Dagster."""
