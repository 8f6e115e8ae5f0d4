"""Checks made before a command starts its work: an output that cannot be written, or a
missing Graphviz, is one line and exit 2 before anything runs (not a traceback after)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from execution.cli.common import UsageError

# What each output extension means to ``render``.
RENDER_FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}


def writable_file(path: Path, what: str) -> None:
    """Refuse (UsageError) an output file that cannot be written: its folder missing or
    not writable, or the path a folder. Nothing is created or truncated."""
    if path.is_dir():
        raise UsageError(f"{what} {path}: is a directory")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{what} {path}: no such directory: {folder}")
    _probe(folder, f"{what} {path}")
    if path.exists():
        try:
            with path.open("ab"):
                pass
        except OSError as err:
            raise UsageError(f"{what} {path}: cannot write: {err.strerror or err}") from err


def writable_dir(path: Path, what: str) -> None:
    """Create the output folder ``path`` (and its parents) and check a file can be written
    in it; refuse (UsageError) otherwise."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError as err:
        raise UsageError(f"{what} {path}: exists and is not a directory") from err
    except OSError as err:
        raise UsageError(f"{what} {path}: cannot create: {err.strerror or err}") from err
    _probe(path, f"{what} {path}")


def _probe(folder: Path, label: str) -> None:
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise UsageError(f"{label}: cannot write in {folder}: {err.strerror or err}") from err


def need_dot(fmt: str) -> None:
    """SVG and PNG need Graphviz's ``dot`` on the PATH (DOT text does not)."""
    if fmt != "dot" and shutil.which("dot") is None:
        raise UsageError(f"--format {fmt} needs Graphviz's 'dot' program, not found on PATH "
                         "(install Graphviz: apt-get install graphviz, brew install graphviz;"
                         " or write DOT text: --format dot)")


def render_format(fmt: str | None, output: Path | None) -> str:
    """The format to render: the one asked for, else the one the output's extension says
    (``-o x.png`` is PNG); a format that contradicts the extension is refused."""
    if output is None:
        return fmt or "dot"
    by_suffix = RENDER_FORMATS.get(output.suffix.lower())
    if by_suffix is None:
        known = ", ".join(RENDER_FORMATS)
        raise UsageError(f"-o {output}: unknown extension {output.suffix or '(none)'!r}; "
                         f"use one of {known}")
    if fmt is not None and fmt != by_suffix:
        raise UsageError(f"--format {fmt} contradicts -o {output} ({by_suffix}); "
                         "drop --format or change the extension")
    return by_suffix
