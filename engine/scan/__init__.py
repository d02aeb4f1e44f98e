"""Scanning logs for a batch of rules: the shared plan, the log source, and where the scan runs."""
