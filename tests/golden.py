"""Golden files: compare an output with its committed copy under ``tests/charts/diff/golden``.

Regenerate after an intended change of output, then review the git diff of the goldens:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/statecharts/test_diff.py \
        tests/unit/execution/cli/test_diff_cli.py
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "charts" / "diff" / "golden"


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
        return
    assert path.is_file(), f"{path} is missing: run with UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs from its golden copy (UPDATE_GOLDEN=1 to accept)"
