"""Hindsight: an open-source backtester for Datadog Cloud SIEM detection rules."""
