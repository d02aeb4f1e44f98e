"""The bundled sample logs: a seeded generator (`generator/`, run by `generate.py`) and the
archive it produced."""
