"""Where a job's scan runs. `base` is the interface `engine.run` calls; `local` is in-process
polars. A distributed backend is one more module here, implementing `ScanBackend`."""
