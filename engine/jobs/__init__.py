"""Running rules as jobs: one scan for many rules, detection per rule, results and statistics."""
