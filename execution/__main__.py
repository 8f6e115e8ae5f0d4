"""``python -m execution``: the same as ``scalpchart``."""

from execution.cli.main import main

raise SystemExit(main())
