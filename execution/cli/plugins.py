"""User guards and handlers without editing this package: a plugin is a Python module
that registers them on import (``from execution.guards import guard``). Plugins come from
two places only, both chosen by the user who runs the command, never by a YAML file:

- entry points of the group :data:`ENTRY_POINT_GROUP` in an installed package
  (``[project.entry-points."scalpchart.guards"] mine = "my_guards"``);
- ``scalpchart --plugin MODULE`` (repeatable), a module importable from ``sys.path``
  (the current folder included).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points

from execution.cli.common import UsageError

ENTRY_POINT_GROUP = "scalpchart.guards"


def load_plugins(modules: Iterable[str], *, entry_point_group: str = ENTRY_POINT_GROUP
                 ) -> list[str]:
    """Import the installed entry points' modules, then ``modules``; return the names
    loaded. A plugin that fails to import is a usage error naming it (exit 2)."""
    loaded = []
    for point in entry_points(group=entry_point_group):
        try:
            point.load()
        except Exception as err:
            raise UsageError(f"plugin {point.name} ({point.value}, entry point "
                             f"{entry_point_group}): cannot load: {_why(err)}") from err
        loaded.append(point.value)
    if "" not in sys.path:  # `--plugin my_guards` finds ./my_guards.py, as `python -m` does
        sys.path.insert(0, "")
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as err:
            raise UsageError(f"--plugin {name}: cannot import: {_why(err)}") from err
        loaded.append(name)
    return loaded


def _why(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"
