"""``scalpchart init DIR``: a project folder with editable copies of the bundled chart,
limits, scenarios, sweeps, broker configurations and the JSON Schemas they name (their
``$schema`` links rewritten to resolve inside the folder); and bundled scenarios found by
name (``--scenario stress``)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import statecharts
from execution import paths
from execution.cli.common import EXIT_OK, UsageError

_SCHEMA_LINK = re.compile(r"^(# yaml-language-server: \$schema=)(\S+)$", re.MULTILINE)
_STATECHART_SCHEMAS = Path(statecharts.__file__).resolve().parent / "schemas"
_EXECUTION_SCHEMAS = paths.LIMITS_SCHEMA.parent


def scenario_path(text: str) -> Path:
    """An argument type: a scenario file, or the name of a bundled one (``stress`` is
    ``config/scenarios/stress.yaml`` in a checkout, or the installed package's copy)."""
    path = Path(text)
    if path.exists() or path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return path
    folder = paths.config_dir() / "scenarios"
    bundled = folder / f"{text}.yaml"
    if bundled.is_file():
        return bundled
    names = ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))
    raise argparse.ArgumentTypeError(f"no scenario file {text!r} and no bundled scenario of "
                                     f"that name (bundled: {names})")


def bundled_scenarios(**_: Any) -> list[str]:
    """The names ``--scenario`` takes (for shell completion)."""
    return sorted(p.stem for p in (paths.config_dir() / "scenarios").glob("*.yaml"))


def project_files() -> dict[Path, Path]:
    """Each bundled file (destination relative to the project folder -> source)."""
    config = paths.config_dir()
    files = {p.relative_to(config): p for p in sorted(config.rglob("*.yaml"))}
    for folder in (_STATECHART_SCHEMAS, _EXECUTION_SCHEMAS):
        files |= {Path("schemas") / p.name: p for p in sorted(folder.glob("*.schema.json"))}
    return files


def _relinked(text: str, dest: Path) -> str:
    """The ``$schema`` comment pointed at ``schemas/`` of the project, relative to ``dest``."""
    def link(match: re.Match[str]) -> str:
        name = Path(match.group(2)).name
        up = "../" * (len(dest.parts) - 1)
        return f"{match.group(1)}{up}schemas/{name}"

    return _SCHEMA_LINK.sub(link, text, count=1)


def init_project(folder: Path, *, force: bool = False) -> list[Path]:
    """Copy the bundled files into ``folder``; refuse (UsageError) to overwrite any
    existing file unless ``force``. Returns the files written."""
    files = project_files()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: exists and is not a directory")
    existing = [folder / rel for rel in files if (folder / rel).exists()]
    if existing and not force:
        listed = ", ".join(str(p) for p in existing[:3]) + (" ..." if len(existing) > 3 else "")
        raise UsageError(f"{folder}: would overwrite {len(existing)} file(s) ({listed}); "
                         "use --force to replace them")
    written = []
    try:
        for rel, source in files.items():
            dest = folder / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            text = source.read_text(encoding="utf-8")
            if dest.suffix == ".yaml":
                text = _relinked(text, rel)
            dest.write_text(text, encoding="utf-8")
            written.append(dest)
    except OSError as err:
        raise UsageError(f"{folder}: cannot write: {err.strerror or err}") from err
    return written


def cmd_init(args: argparse.Namespace) -> int:
    written = init_project(args.dir, force=args.force)
    folders = sorted({p.relative_to(args.dir).parts[0] + "/" for p in written
                      if len(p.relative_to(args.dir).parts) > 1})
    chart = args.dir / paths.CHART_NAME
    limits = args.dir / paths.LIMITS_NAME
    print(f"wrote {len(written)} files in {args.dir}: {paths.CHART_NAME}, {paths.LIMITS_NAME}, "
          f"{', '.join(folders)}\n"
          f"next: scalpchart validate {chart} --limits {limits}\n"
          f"      scalpchart simulate --chart {chart} --limits {limits} --scenario stress")
    return EXIT_OK


def add_init_parser(sub: Any) -> None:
    p = sub.add_parser("init", help="copy the bundled chart, limits, scenarios and schemas "
                                    "into a project folder to edit")
    p.add_argument("dir", type=Path, help="the project folder (created if missing)")
    p.add_argument("--force", action="store_true",
                   help="overwrite files that already exist there")
    p.set_defaults(func=cmd_init)
