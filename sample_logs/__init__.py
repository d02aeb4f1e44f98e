"""The bundled sample logs: a seeded generator (generate.py) and the archive it produced."""
