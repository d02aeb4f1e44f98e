"""One module per log source: how its events look, and its background activity for the week."""
