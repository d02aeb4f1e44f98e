"""`import engine` (the Python API a notebook uses) loads no web, database or notification code."""

from __future__ import annotations

import json
import subprocess
import sys

#: Libraries of the job service, the web app and the notifiers (and of a distributed backend).
SERVICE_LIBRARIES = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "jinja2",
    "dask",
    "distributed",
)
#: The packages of Hindsight above the engine (`engine.convert` reaches them on first use).
SERVICE_PACKAGES = ("engine.store", "engine.notify", "engine.service", "engine.api", "engine.web")

LOADED = """
import json, sys
import engine
before = sorted(sys.modules)
engine.convert
print(json.dumps([before, sorted(sys.modules)]))
"""


def _modules() -> tuple[list[str], list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", LOADED], capture_output=True, text=True, check=True
    )
    before, after = json.loads(done.stdout)
    return before, after


def test_import_engine_loads_no_service_code() -> None:
    before, after = _modules()
    tops = {name.split(".")[0] for name in before}
    assert not tops & set(SERVICE_LIBRARIES)
    assert not [name for name in before if name.startswith(SERVICE_PACKAGES)]
    assert "engine.run" in before and "engine.detect.methods.threshold" in before
    # engine.convert is still there, imported on first use
    assert "sqlalchemy" in after and "engine.notify.convert" in after


LOCAL_RUN = """
import json, sys
import engine
from tests.detect.builders import event, rule
outcome = engine.run(rule(cases=[{"status": "low", "condition": "a > 0"}]), [event(0), event(60)])
assert outcome.results
print(json.dumps(sorted(sys.modules)))
"""


def test_a_local_run_loads_no_dask() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOCAL_RUN], capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout)
    assert "engine.run" in loaded
    assert not {name.split(".")[0] for name in loaded} & {"dask", "distributed"}
    assert "engine.scan.backends.dask" not in loaded
