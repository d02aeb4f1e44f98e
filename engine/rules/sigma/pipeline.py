"""Sigma processing pipelines: the field mappings shipped with Hindsight, or the user's own.

A pipeline is pySigma's YAML processing pipeline (field name mappings, conditions added per log
source, ...). Hindsight ships one per log family the public corpus holds, in
`engine/rules/sigma/pipelines/` (`SHIPPED`): `cloudtrail` (after Datadog's CloudTrail remap),
`windows` (Sysmon, Security and the other channels, as Hindsight ingests them) and `okta`. Each
applies only to the rules of its log source, so together they are the default.

A pipeline is named by one of those names or by the path of a YAML file; several may be given
(they are applied in order of their `priority`, then as given). The field names a pipeline maps
to are attribute paths, with or without `@` (docs/sigma.md).

A pipeline may also set the rule's custom attribute `datadog_source` (`set_custom_attribute`):
the query is then limited to that `source:`, as Datadog's own rules for the log family are.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingPipeline

from engine.core.errors import SigmaPipelineError

__all__ = [
    "SHIPPED",
    "SOURCE_ATTRIBUTE",
    "PipelineInput",
    "SigmaPipelineError",
    "load_pipeline",
]

PIPELINE_FOLDER = Path(__file__).resolve().parent / "pipelines"

#: The pipelines shipped with Hindsight, by name.
SHIPPED: tuple[str, ...] = ("cloudtrail", "windows", "okta")

#: The keys of a pySigma processing pipeline that hold its work (one at least).
PIPELINE_KEYS = frozenset({"transformations", "postprocessing", "finalizers"})

#: The custom rule attribute a pipeline sets to limit the query to one Datadog `source`.
SOURCE_ATTRIBUTE = "datadog_source"

#: One pipeline (a shipped name or a YAML path), several, or None for every shipped one.
PipelineSpec = str | os.PathLike[str]
PipelineInput = PipelineSpec | ProcessingPipeline | Sequence[PipelineSpec] | None


def load_pipeline(pipeline: PipelineInput = None) -> ProcessingPipeline:
    """The processing pipeline to convert with (None: every shipped pipeline)."""
    if isinstance(pipeline, ProcessingPipeline):
        return pipeline
    if pipeline is None:
        specs: Sequence[str | os.PathLike[str]] = SHIPPED
    elif isinstance(pipeline, str | os.PathLike):
        specs = [pipeline]
    else:
        specs = pipeline
    if not specs:
        return ProcessingPipeline()
    loaded = sorted((_one(spec) for spec in specs), key=lambda found: found.priority)
    return functools.reduce(lambda left, right: left + right, loaded)


def _one(spec: str | os.PathLike[str]) -> ProcessingPipeline:
    text = str(spec)
    path = PIPELINE_FOLDER / f"{text}.yml" if text in SHIPPED else Path(spec)
    try:
        stat = path.stat()
        definition = _definition(str(path), stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:
        choices = ", ".join(SHIPPED)
        raise SigmaPipelineError(
            f"Sigma pipeline {text}: no such file (or a shipped pipeline: {choices})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SigmaPipelineError(f"Sigma pipeline {text}: cannot read the file: {exc}") from None
    except yaml.YAMLError as exc:
        raise SigmaPipelineError(f"Sigma pipeline {text}: not valid YAML: {exc}") from None
    if not isinstance(definition, dict) or not PIPELINE_KEYS & definition.keys():
        keys = ", ".join(sorted(PIPELINE_KEYS))
        raise SigmaPipelineError(
            f"Sigma pipeline {text}: not a processing pipeline (a YAML mapping with {keys})"
        )
    try:
        return ProcessingPipeline.from_dict(copy.deepcopy(definition))
    except (SigmaError, KeyError, TypeError, ValueError, AttributeError) as exc:
        reason = str(exc) or type(exc).__name__
        raise SigmaPipelineError(f"Sigma pipeline {text}: {reason}") from None


@functools.lru_cache(maxsize=32)
def _definition(path: str, mtime_ns: int, size: int) -> Any:
    """A pipeline file's YAML, parsed once per version of the file (the stat is the key)."""
    del mtime_ns, size
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
