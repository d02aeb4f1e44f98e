"""Hindsight's log archive: the Parquet layout, its schema, and ingest of exported logs."""
