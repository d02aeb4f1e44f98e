"""`rerun`: a run manifest's rules over the same snapshot, and whether the results are the same.

The snapshot is checked first, against the files stored (not against the archive's own manifest,
which a file changed in place would not update): every file the run read must still be there with
the same SHA-256, and no new file may hold events of the run's range. The reference tables' files
are checked the same way, and the run reads them from the same folder again. Any difference raises
`SnapshotChangedError` naming each file. Logs given in memory are checked by their digest, so
`rerun(manifest, logs=...)` needs them again.

The rules are rebuilt from the manifest's definitions (with their casing), not read from their
files again, and run with the manifest's range and options (the job id too, since result ids
derive from it). The results are compared by the SHA-256 of each histsignal document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.archive.manifest import file_sha256
from engine.archive.reader import Archive
from engine.core.errors import ArchiveError, SnapshotChangedError
from engine.results.manifest import ARCHIVE, IN_MEMORY, RunManifest, Snapshot, logs_digest
from engine.results.outcome import JobRun
from engine.rules.loader import load_rule
from engine.rules.models import Rule
from engine.run import run
from engine.scan.source import LogSource


def snapshot_changes(snapshot: Snapshot, *, start: int | None, end: int | None) -> list[str]:
    """What differs between an archive snapshot and the files now on disk (empty: nothing)."""
    changes: list[str] = []
    try:
        folder = snapshot.folder()
        on_disk = folder.files()
        for item in snapshot.files:
            path = folder.url(item.path)
            if item.path not in on_disk:
                changes.append(f"removed: {path}")
            elif folder.sha256(item.path) != item.sha256:
                changes.append(f"changed: {path} (its SHA-256 is not the recorded {item.sha256})")
        now = Archive(snapshot.archive or "").files(snapshot.index, start=start, end=end)
    except ArchiveError as exc:
        return [*changes, str(exc)]
    known = {item.path for item in snapshot.files}
    changes += [f"added: {folder.url(entry.path)}" for entry in now if entry.path not in known]
    return changes


def table_changes(tables: list[dict[str, Any]]) -> list[str]:
    """What differs between the reference table files a run read and the files now on disk."""
    changes: list[str] = []
    for entry in tables:
        if "path" not in entry:
            continue
        path = Path(entry["path"])
        if not path.is_file():
            changes.append(f"removed: reference table {entry['name']!r} ({path})")
        elif file_sha256(path) != entry.get("sha256"):
            changes.append(
                f"changed: reference table {entry['name']!r} ({path}; its SHA-256 is not the "
                f"recorded {entry.get('sha256')})"
            )
    return changes


def manifest_tables(manifest: RunManifest, tables: Any) -> Any:
    """The reference tables to rerun with: `tables` when given again, else the folder the run
    read them from (raises `SnapshotChangedError` when a table file changed, or when the run
    read tables given in memory and `tables` is None)."""
    changes = table_changes(manifest.tables)
    if changes:
        raise SnapshotChangedError(changes)
    if tables is not None:
        return tables
    in_memory = [entry["name"] for entry in manifest.tables if entry.get("in_memory")]
    if in_memory:
        raise SnapshotChangedError(
            [
                f"the run read reference tables given in memory ({', '.join(in_memory)}): "
                "pass them again (rerun(..., tables=...))"
            ]
        )
    folders = {str(Path(entry["path"]).parent) for entry in manifest.tables if "path" in entry}
    return next(iter(folders)) if folders else None


def manifest_rules(manifest: RunManifest) -> list[Rule]:
    """The rules of a manifest, as the run loaded them (definition and casing)."""
    return [load_rule(item.definition).with_casing(item.casing_of()) for item in manifest.rules]


def replay(manifest: RunManifest, *, logs: Any = None, tables: Any = None) -> JobRun:
    """Run a manifest's rules over its snapshot again (raises `SnapshotChangedError` when the
    snapshot or a reference table file changed). `logs`, `tables`: the logs and reference tables
    again, for a run that read them given in memory."""
    folder = manifest_tables(manifest, tables)
    snapshot = manifest.snapshot
    scanned = manifest.range.get("scanned_from")
    options = manifest.options
    source: Any
    if snapshot.kind == ARCHIVE:
        changes = snapshot_changes(snapshot, start=scanned, end=manifest.range.get("to"))
        if changes:
            raise SnapshotChangedError(changes)
        source = snapshot.archive or ""
    elif snapshot.kind == IN_MEMORY:
        if logs is None:
            raise SnapshotChangedError(
                ["the run read logs given in memory: pass them again (rerun(..., logs=...))"]
            )
        frame = LogSource.of(
            logs,
            snapshot.index,
            format=options.get("format", "auto"),
            timestamp_field=options.get("timestamp_field"),
        ).scan()
        if logs_digest(frame.collect()) != snapshot.digest:
            raise SnapshotChangedError(["the logs given are not the ones the run read"])
        source = logs
    else:
        raise SnapshotChangedError([f"unknown snapshot kind {snapshot.kind!r}"])
    return run(
        manifest_rules(manifest),
        source,
        start=manifest.range.get("from"),
        end=manifest.range.get("to"),
        index=snapshot.index,
        job_id=options.get("job_id"),
        max_results=options.get("max_results"),
        format=options.get("format", "auto"),
        timestamp_field=options.get("timestamp_field"),
        tables=folder,
    )


@dataclass
class Rerun:
    """A rerun's outcome and how its results differ from the manifest's (by result id)."""

    outcome: JobRun
    missing: list[str] = field(default_factory=list)  # results the rerun did not produce
    new: list[str] = field(default_factory=list)  # results only the rerun produced
    changed: list[str] = field(default_factory=list)  # same id, different document

    @property
    def identical(self) -> bool:
        """Whether the rerun produced exactly the recorded results."""
        return not (self.missing or self.new or self.changed)


def rerun(manifest: RunManifest, *, logs: Any = None, tables: Any = None) -> Rerun:
    """Reproduce a run from its manifest and compare the results (see the module docstring)."""
    outcome = replay(manifest, logs=logs, tables=tables)
    before = manifest.documents
    after = outcome.manifest.documents if outcome.manifest is not None else {}
    return Rerun(
        outcome,
        missing=[key for key in before if key not in after],
        new=[key for key in after if key not in before],
        changed=[key for key in before if key in after and before[key] != after[key]],
    )
