"""User guards and handlers without editing this package: a plugin is a Python module
that registers them on import (``from execution.guards import guard``). Plugins come from
two places only, both chosen by the user who runs the command, never by a YAML file:

- entry points of the group :data:`ENTRY_POINT_GROUP` in an installed package
  (``[project.entry-points."scalpchart.guards"] mine = "my_guards"``);
- ``scalpchart --plugin MODULE`` (repeatable), a module importable from ``sys.path``
  (the current folder included), or a ``.py`` file (``--plugin guards/mine.py``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path

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
            _import(name)
        except Exception as err:
            raise UsageError(f"--plugin {name}: cannot import: {_why(err)}") from err
        loaded.append(name)
    return loaded


def _import(name: str) -> None:
    if not name.endswith(".py"):
        importlib.import_module(name)
        return
    path = Path(name).resolve()
    module_name = f"scalpchart_plugin_{path.stem}"
    if module_name in sys.modules:  # imported already: its registrations stand
        return
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {name}")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"not a Python module: {name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise


def _why(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"
