"""The Datadog log search language: parse (text -> AST) and compile (AST -> polars)."""
