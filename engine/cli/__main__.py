"""`python -m engine.cli`: the hindsight command."""

from engine.cli import main

raise SystemExit(main())
