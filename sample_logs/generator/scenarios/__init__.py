"""One module per planted scenario: its timeline, its `PLANTED` entry and the events it plants."""
