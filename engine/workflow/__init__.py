"""The detection engineer's loop, built on `engine.run`: test, diff, score, lint, explain.

One module per command (`tests`, `diff`, `score`, `lint`, `explain`), each returning a plain
dataclass report that serialises to JSON (`report.Report`). The functions are exported as
`engine.test_rule`, `engine.diff`, `engine.score`, `engine.lint` and `engine.explain`.
"""
