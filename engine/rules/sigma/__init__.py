"""Sigma rules on the same engine: pySigma and its Datadog backend turn each Sigma rule into a
Datadog log search, then into a Datadog detection rule (docs/sigma.md).

- `engine.rules.sigma.convert.convert_sigma(paths, pipeline)`: every rule of Sigma YAML files or
  folders, converted or refused with the converter's reason (`SigmaConversion`);
- `engine.rules.sigma.pipeline.load_pipeline(spec)`: a shipped field-mapping pipeline
  (`cloudtrail`, `windows`, `okta`) or the user's own pySigma pipeline YAML;
- `engine.rules.sigma.loading` (and `files`): how `engine.load_rules` and `hindsight run` find and
  read Sigma files.

This package imports nothing itself, so reading JSON rules never loads pySigma.
"""
