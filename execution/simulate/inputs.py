"""What a simulation ran with: the chart, limits and scenario files, each by path and
content hash (``report.json``'s ``inputs``), so two reports can be told apart."""

from __future__ import annotations

import hashlib
from pathlib import Path

from execution import paths


def document_record(path: Path) -> dict[str, str]:
    """``{"file": PATH, "sha256": HEX}`` of a document as it is on disk now."""
    return {"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def inputs_record(scenario_file: str, chart: Path | None,
                  limits: Path | None) -> dict[str, dict[str, str]]:
    """The three documents a run used (None: the shipped chart or limits)."""
    return {"scenario": document_record(Path(scenario_file)),
            "chart": document_record(chart or paths.default_chart()),
            "limits": document_record(limits or paths.default_limits())}
