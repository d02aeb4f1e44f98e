"""The format registry: each format is one module that registers itself with its priority."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import engine
from engine.archive.formats import FORMATS
from engine.archive.formats.registry import detection_order, fallback, registered

ENGINE = Path(engine.__file__).parent


def test_every_format_module_is_registered_and_listed() -> None:
    modules = {
        path.stem
        for path in (ENGINE / "archive" / "formats").glob("*.py")
        if "\nFORMAT = register(" in path.read_text()
    }
    assert len(modules) == len(registered()) >= 6
    assert ("auto", *(format.name for format in registered())) == FORMATS
    assert fallback().name == "json"
    assert fallback() not in detection_order()
    priorities = [format.priority for format in detection_order()]
    assert priorities == sorted(priorities) and len(set(priorities)) == len(priorities)


NEW_FORMAT = '''
"""`syslog-json`: a test format, {"ts": epoch seconds, "msg": text, "host": name}."""

from typing import Any

from engine.archive.formats.mapping import EventFields, Format
from engine.archive.formats.registry import register


def fields(record: dict[str, Any]) -> EventFields:
    return {"timestamp": record["ts"], "message": record["msg"], "host": record["host"]}


FORMAT = register(
    Format(
        name="syslog-json",
        fields=fields,
        looks_like=lambda record: {"ts", "msg", "host"} <= record.keys(),
        timestamp_keys=("ts",),
        priority=5,
        listing=99,
    )
)
'''

CHECK = """
import engine
from engine.archive.formats import FORMATS, records_to_events
from engine.archive.formats.detect import sniff

assert engine.__file__.startswith({root!r}), engine.__file__
print(FORMATS)
record = {{"ts": 1709510400, "msg": "disk full", "host": "db-1", "level": "error"}}
print(sniff(record))
(event,) = records_to_events([record])
print(event["timestamp"], event["host"], event["message"], event["attributes"])
"""


def test_a_new_format_is_one_module(tmp_path: Path) -> None:
    # a copy of the engine package with one module added, and nothing else edited
    copy = tmp_path / "engine"
    shutil.copytree(ENGINE, copy, ignore=shutil.ignore_patterns("static", "__pycache__"))
    (copy / "archive" / "formats" / "syslog_json.py").write_text(textwrap.dedent(NEW_FORMAT))
    done = subprocess.run(
        [sys.executable, "-c", CHECK.format(root=str(tmp_path))],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    formats, detected, event = done.stdout.splitlines()
    assert formats.endswith("'json', 'syslog-json')")  # listed last: listing 99
    assert detected == "syslog-json"  # tried before the canonical formats: priority 5
    assert event == "1709510400000 db-1 disk full {}"  # read by its module's `fields`
