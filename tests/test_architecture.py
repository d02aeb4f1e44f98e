"""The layering is checked, not just drawn: the import-linter contracts of pyproject.toml hold.

The contracts (docs/architecture.md): each package imports only from the layers below it, `core`
imports nothing of Hindsight, the engine imports no web, database or notification library, and no
package has an import cycle between its modules.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
