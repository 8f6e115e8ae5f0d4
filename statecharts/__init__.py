"""A small declarative statechart engine: YAML -> validated spec -> python-statemachine chart.

It knows nothing about trading. Layers: ``document`` (bytes from regular files
only, bounded, UTF-8), ``yamlcompose`` and ``yamlsrc`` (strict, bounded YAML with
positions), ``schema`` (JSON Schema), ``loader`` (spec dataclasses), ``lint``
(semantic rules; ``reserved`` derives the names the runtime owns), ``compiler``
(StateChart class), ``runtime`` (one run with its trace), ``matrix`` and
``render``.
"""

from statecharts.errors import (
    ChartError,
    ChartInvalid,
    DocumentInvalid,
    DocumentUnreadable,
    Problem,
)

__all__ = ["ChartError", "ChartInvalid", "DocumentInvalid", "DocumentUnreadable", "Problem"]
