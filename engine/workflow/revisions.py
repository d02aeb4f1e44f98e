"""One version of a rule set, for `diff`: a rule file, a folder, or either at a git revision.

`rules/x.json@HEAD~1` (or `rules@main`) reads the path as it was at that revision, with
`git show REV:PATH` (run as a subprocess, from the repository holding the path). Each rule gets an
*identity* so the two versions can be paired:

- a single file (`OLD` and `NEW` are files): the file itself, whatever its name in each version;
- a folder: the file's path inside the folder (`aws/x.json`);
- a file holding several rules: the above plus `#` and the rule's `id`, else its `name`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import (
    RevisionError,
    RuleSetValidationError,
    RuleValidationError,
)
from engine.rules.loader import load_rules
from engine.rules.models import Rule

_GIT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class VersionedRule:
    """One rule of a version, with the identity that pairs it across versions."""

    key: str
    rule: Rule


@dataclass(frozen=True)
class RuleVersion:
    """A rule set as given on the command line: its rules and whether it is a folder."""

    spec: str
    rules: list[VersionedRule]
    folder: bool


def load_version(spec: str | Path) -> RuleVersion:
    """The rules of `spec`: a file, a folder, `FILE@REV` or `FOLDER@REV`."""
    text = str(spec)
    path = Path(text)
    if not path.exists() and "@" in text:
        location, revision = text.rsplit("@", 1)
        if location and revision:
            return _from_git(text, Path(location), revision)
    if not path.exists():
        raise RevisionError(f"{text}: no such file or folder (write PATH@REV for a git revision)")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        return RuleVersion(text, _keyed(path, files, None), folder=True)
    return RuleVersion(text, _keyed(path.parent, [path], ""), folder=False)


def _keyed(
    root: Path, files: list[Path], single: str | None, origin: tuple[Path, str] | None = None
) -> list[VersionedRule]:
    """Load each file and give its rules their identity (`single`: the key of a lone file).

    `origin` (scratch folder, revision) names files read from git in errors as `path@rev`.
    """
    found: list[VersionedRule] = []
    for file in files:
        relative = file.relative_to(root).as_posix()
        try:
            rules = load_rules(file)
        except RuleValidationError as err:
            if origin is None:
                raise
            scratch, revision = origin
            name = file.relative_to(scratch).as_posix()
            raise _resourced(err, f"{name}@{revision}") from None
        base = relative if single is None else single
        for rule in rules:
            key = base if len(rules) == 1 else f"{base}#{rule.id or rule.name}"
            found.append(VersionedRule(key, rule))
    return found


def _resourced(err: RuleValidationError, source: str) -> RuleValidationError:
    """The same error, naming `source` (the file at its revision) instead of a temporary copy."""
    if isinstance(err, RuleSetValidationError):
        return RuleSetValidationError([_resourced(e, source) for e in err.errors])
    return RuleValidationError(err.problems, source=source)


def _git(top: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(top), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=_GIT_TIMEOUT_SECONDS,
        )
    except FileNotFoundError:
        raise RevisionError("git is not installed: PATH@REV needs it") from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise RevisionError(message[-1] if message else f"git {' '.join(args)} failed")
    return done.stdout


def _repository(location: Path, spec: str) -> tuple[Path, str]:
    """The repository's top folder and the path of `location` inside it."""
    absolute = Path(os.path.abspath(location))
    existing = absolute
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    folder = existing if existing.is_dir() else existing.parent
    try:
        top = Path(_git(folder, "rev-parse", "--show-toplevel").strip())
    except RevisionError:
        raise RevisionError(f"{spec}: {folder} is not inside a git repository") from None
    real = Path(os.path.realpath(absolute))
    try:
        relative = real.relative_to(top.resolve()).as_posix()
    except ValueError:
        raise RevisionError(f"{spec}: {location} is outside the repository {top}") from None
    return top, relative


def _from_git(spec: str, location: Path, revision: str) -> RuleVersion:
    top, relative = _repository(location, spec)
    try:
        kind = _git(top, "cat-file", "-t", f"{revision}:{relative}").strip()
    except RevisionError as exc:
        raise RevisionError(f"{spec}: {exc}") from None
    if kind == "tree":
        listing = _git(top, "ls-tree", "-r", "--name-only", revision, "--", relative)
        names = [name for name in listing.splitlines() if name.endswith(".json")]
    elif kind == "blob":
        names = [relative]
    else:
        raise RevisionError(f"{spec}: {relative} is a {kind} at {revision}, not a file or folder")
    scratch = Path(tempfile.mkdtemp(prefix="hindsight-diff-"))
    try:
        files = []
        for name in names:
            target = scratch / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_git(top, "show", f"{revision}:{name}"), encoding="utf-8")
            files.append(target)
        origin = (scratch, revision)
        if kind == "tree":
            rules = _keyed(scratch / relative, files, None, origin)
        else:
            rules = _keyed(files[0].parent, files, "", origin)
        return RuleVersion(spec, rules, folder=kind == "tree")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
