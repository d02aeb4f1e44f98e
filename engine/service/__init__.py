"""The job service: jobs, rules, signals, the background runner, settings. What the API, the web
app and the CLI call."""
