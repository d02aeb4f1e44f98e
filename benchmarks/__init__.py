"""Benchmarks: Hindsight against a hand-written polars query and DuckDB on the same data."""
