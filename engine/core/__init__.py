"""The shared vocabulary every layer speaks: errors, times, severities, column names, JSON text.

Nothing here imports another package of Hindsight (an import-linter contract checks it).
"""
