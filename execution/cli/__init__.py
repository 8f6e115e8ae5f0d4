# PYTHON_ARGCOMPLETE_OK
"""The ``scalpchart`` command line: one module per command group."""

from execution.cli.main import main

__all__ = ["main"]
