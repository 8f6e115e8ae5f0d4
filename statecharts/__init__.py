"""A small declarative statechart engine: YAML -> validated spec -> python-statemachine chart.

It knows nothing about trading. Layers: ``yamlsrc`` (strict YAML with
positions), ``schema`` (JSON Schema), ``loader`` (spec dataclasses), ``lint``
(semantic rules), ``compiler`` (StateChart class), ``runtime`` (one run with
its trace), ``matrix`` and ``render``.
"""

from statecharts.errors import ChartError, ChartInvalid, Problem

__all__ = ["ChartError", "ChartInvalid", "Problem"]
