"""The lake and what every stage shares: its folder layout and atomic writes
(lake.py), the tables' schemas and Parquet files (tables.py) and the DuckDB views
over them (warehouse.py), the errors every stage raises, the names of a trained
model's files, stopping a command with everything it started, the small pictures and
tables that reports are made of, and the profiles that size a run. Every later stage
may import it; it imports none of them.
"""
