"""The run report: ONE self-contained HTML file of a run (`hindsight report`, a job's web page).

It shows the run's summary (rules, range, events scanned, time), a timeline of the results by
severity and the results per rule (Vega-Altair charts rendered to inline SVG by `vl-convert`, so
the file needs no script and no network), the top entities (group-by values), each result with
its rendered message and its matched logs (collapsible), the lint warnings, and the score table
when labels were given. Everything is inline: the CSS, the SVG charts, the data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
import vl_convert
from jinja2 import Environment, FileSystemLoader, select_autoescape

from engine.core.errors import HindsightError, RunFileError, SnapshotChangedError
from engine.core.severity import SEVERITIES_DESCENDING
from engine.core.times import format_timestamp, parse_timestamp
from engine.results.manifest import RunManifest
from engine.results.matched import ResultLogs, Scannable, matched_frame
from engine.results.result import inner_attributes
from engine.results.runfile import RunFile, read_run_file, run_file_of
from engine.web.render import TEMPLATES, markdown
from engine.workflow.rerun import manifest_rules, replay
from engine.workflow.score import ScoreReport, score

#: Matched logs shown per result (the rest: `hindsight events RESULT_ID`).
MAX_LOGS_SHOWN = 100
#: Entities listed in the top-entities table.
TOP_ENTITIES = 15
#: Severity colours, as the web app's stylesheet has them (critical first; static/app.css).
SEVERITY_COLORS = ("#b42318", "#e8590c", "#b98300", "#2f6fde", "#5f6b7d")
#: Characters of a log's attributes shown in its row.
ATTRIBUTES_SHOWN = 300

_ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True
)


@dataclass
class ReportInput:
    """What a report shows: a run (as a run file holds it), its matched logs, and a score."""

    title: str
    run: RunFile
    matched: pl.DataFrame | None = None  # `matched_frame` of the run's results
    matched_note: str | None = None  # why the matched logs are missing, when they are
    score: ScoreReport | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def run_file_input(path: Path, *, labels: Path | None = None) -> ReportInput:
    """The report of a run file (its matched logs read back from its archive, when it can)."""
    run = read_run_file(path)
    matched, note = None, None
    try:
        matched = _shown_logs(run.logs(), run.result_logs())
    except HindsightError as exc:
        note = f"Matched logs not shown: {exc}"
    hint = {"events_source": f"--run {path}"}
    return ReportInput(f"Hindsight run {path.name}", run, matched, note, _score(run, labels), hint)


def manifest_input(
    manifest: RunManifest,
    title: str,
    *,
    labels: Path | None = None,
    documents: Sequence[Mapping[str, Any]] | None = None,
) -> ReportInput:
    """The report of a run recorded by its manifest (a job): the run again, over its snapshot.

    When the snapshot changed since, the report shows the stored `documents` (when given) with
    the manifest's summary and says why the matched logs are missing."""
    try:
        outcome = replay(manifest)
    except SnapshotChangedError as exc:
        if documents is None:
            raise
        summary = {
            "from": manifest.range.get("from"),
            "to": manifest.range.get("to"),
            "events_scanned": manifest.results.get("events_scanned"),
        }
        run = RunFile([dict(document) for document in documents], {}, manifest, summary)
        return ReportInput(title, run, None, f"Matched logs not shown: {exc}")
    run = run_file_of(outcome)
    assert outcome.logs is not None
    shown = _shown_logs(outcome.logs, [ResultLogs.of(result) for result in outcome.results])
    hint = {"events_source": f"--job {manifest.options.get('job_id')}"}
    return ReportInput(title, run, shown, None, _score(run, labels), hint)


def _shown_logs(logs: Scannable, results: Sequence[ResultLogs]) -> pl.DataFrame:
    """The first `MAX_LOGS_SHOWN` matched logs of each result, read in one pass."""
    firsts = [replace(result, log_ids=result.log_ids[:MAX_LOGS_SHOWN]) for result in results]
    return matched_frame(logs, firsts)


def _score(run: RunFile, labels: Path | None) -> ScoreReport | None:
    """The run's rules scored against `labels` (over the run's archive and range)."""
    if labels is None:
        return None
    manifest = run.manifest
    if manifest is None or manifest.snapshot.archive is None:
        raise RunFileError("--labels needs a run that read an archive (its manifest names it)")
    return score(
        manifest_rules(manifest),
        manifest.snapshot.archive,
        labels,
        start=manifest.range.get("from"),
        end=manifest.range.get("to"),
        index=manifest.snapshot.index,
    )


def _severity_scale() -> alt.Scale:
    return alt.Scale(domain=list(SEVERITIES_DESCENDING), range=list(SEVERITY_COLORS))


def _results_frame(documents: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "time": [document["attributes"]["timestamp"] for document in documents],
            "severity": [document["attributes"]["status"] for document in documents],
            "rule": [_rule_name(document) for document in documents],
            "title": [inner_attributes(document).get("title", "") for document in documents],
        },
        schema={"time": pl.String, "severity": pl.String, "rule": pl.String, "title": pl.String},
    )


def timeline_svg(documents: Sequence[Mapping[str, Any]]) -> str:
    """The results over time, one row per severity (an SVG)."""
    chart = (
        alt.Chart(_results_frame(documents))
        .mark_circle(size=90, opacity=0.8)
        .encode(
            x=alt.X("time:T", title="trigger time (UTC)", axis=alt.Axis(format="%b %d %H:%M")),
            y=alt.Y("severity:N", sort=list(SEVERITIES_DESCENDING), title=None),
            color=alt.Color("severity:N", scale=_severity_scale(), legend=None),
            tooltip=["time:T", "severity:N", "title:N"],
        )
        .properties(width=760, height=170, title="Results over time, by severity")
    )
    return _svg(chart)


def rules_svg(documents: Sequence[Mapping[str, Any]]) -> str:
    """Results per rule, stacked by severity (an SVG)."""
    frame = _results_frame(documents).group_by("rule", "severity").len("results").sort("rule")
    totals = frame.group_by("rule").agg(pl.col("results").sum())["results"].to_list()
    most = max(totals, default=1)
    ticks = alt.Axis(values=list(range(most + 1)) if most <= 10 else alt.Undefined, format="d")
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("results:Q", title="results", axis=ticks),
            y=alt.Y("rule:N", sort="-x", title=None, axis=alt.Axis(labelLimit=420)),
            color=alt.Color("severity:N", scale=_severity_scale(), title="severity"),
            tooltip=["rule:N", "severity:N", "results:Q"],
        )
        .properties(width=420, title="Results per rule")
    )
    return _svg(chart)


def _svg(chart: alt.Chart) -> str:
    svg: str = vl_convert.vegalite_to_svg(chart.to_dict())
    return svg


def _rule_name(document: Mapping[str, Any]) -> str:
    return str(inner_attributes(document).get("workflow", {}).get("rule", {}).get("name", ""))


def top_entities(documents: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, int]]:
    """The group-by values with the most results: `(field, value, results)`."""
    counts = Counter(
        (field, str(value))
        for document in documents
        for field, value in inner_attributes(document).get("group_by", {}).items()
    )
    return [(field, value, count) for (field, value), count in counts.most_common(TOP_ENTITIES)]


def _logs_by_result(matched: pl.DataFrame | None) -> dict[str, list[dict[str, Any]]]:
    if matched is None or matched.is_empty():
        return {}
    shown = matched.with_columns(
        pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
        pl.col("attributes").str.slice(0, ATTRIBUTES_SHOWN),
        pl.col("tags").list.join(", "),
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in shown.iter_rows(named=True):
        grouped.setdefault(row["result_id"], []).append(row)
    return grouped


def _result_view(document: Mapping[str, Any], logs: list[dict[str, Any]]) -> dict[str, Any]:
    inner = inner_attributes(document)
    workflow = inner.get("workflow", {})
    return {
        "id": document["id"],
        "time": document["attributes"]["timestamp"],
        "severity": document["attributes"]["status"],
        "title": inner.get("title", ""),
        "rule": _rule_name(document),
        "group": ", ".join(f"{k}:{v}" for k, v in inner.get("group_by", {}).items()),
        "events": workflow.get("events_matched", 0),
        "first_seen": workflow.get("first_seen", ""),
        "last_seen": workflow.get("last_seen", ""),
        "message": markdown(document["attributes"].get("message", "")),
        "logs": logs,
        "more": max(0, int(workflow.get("events_matched", 0)) - len(logs)),
    }


def render_report(data: ReportInput) -> str:
    """The report as one HTML document."""
    run = data.run
    documents = sorted(
        run.documents, key=lambda d: (parse_timestamp(d["attributes"]["timestamp"]), d["id"])
    )
    logs = _logs_by_result(data.matched)
    manifest = run.manifest
    severities = Counter(document["attributes"]["status"] for document in documents)
    summary = dict(run.summary)
    for key in ("from", "to"):
        value = summary.get(key)
        summary[f"{key}_text"] = format_timestamp(value) if value is not None else "open"
    template = _ENVIRONMENT.get_template("report.html")
    return template.render(
        title=data.title,
        summary=summary,
        rules=run.rules,
        rule_count=len(run.rules) or (len(manifest.rules) if manifest else 0),
        severities=[(name, severities.get(name, 0)) for name in SEVERITIES_DESCENDING],
        manifest=manifest,
        timeline=timeline_svg(documents) if documents else None,
        per_rule=rules_svg(documents) if documents else None,
        entities=top_entities(documents),
        results=[_result_view(document, logs.get(document["id"], [])) for document in documents],
        matched_note=data.matched_note,
        lint=run.lint,
        score=data.score,
        colors=dict(zip(SEVERITIES_DESCENDING, SEVERITY_COLORS, strict=True)),
        **data.extra,
    )
