"""Detection methods: from matched events to signals (one module per method, plus the lifecycle)."""
