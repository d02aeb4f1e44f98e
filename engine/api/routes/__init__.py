"""The API's routes, one module per resource: jobs, histsignals, signals, rules."""
