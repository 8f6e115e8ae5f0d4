"""Where the shipped configuration lives, from a checkout or from an installed package."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
CHART_NAME = "scalp_execution.yaml"
LIMITS_NAME = "limits.yaml"
LIMITS_SCHEMA = _PACKAGE / "schemas" / "limits.schema.json"


def config_dir() -> Path:
    """``./config`` when run from a checkout, ``.`` in a project folder made by
    ``scalpchart init``, else the copy bundled in the package."""
    candidates = (Path("config"), Path("."), _PACKAGE.parent / "config", _PACKAGE / "bundled")
    for candidate in candidates:
        if (candidate / CHART_NAME).is_file():
            return candidate
    raise FileNotFoundError(f"no {CHART_NAME} in any of: " + ", ".join(map(str, candidates)))


def default_chart() -> Path:
    return config_dir() / CHART_NAME


def default_limits() -> Path:
    return config_dir() / LIMITS_NAME
