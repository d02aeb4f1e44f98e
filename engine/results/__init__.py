"""Job results: `JobResult` (a histsignal), the outcome of a run, and their exports."""
