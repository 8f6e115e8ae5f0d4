"""Run the README: its console transcripts and its Python examples.

A fenced ``console`` block is a transcript: ``$ COMMAND`` lines (a trailing ``\\`` joins
the next line) each followed by the output they print, stdout and stderr together. The
commands of one block run in order in one bash shell (``$?`` works), in a scratch folder
holding copies of ``config/``, ``docs/``, ``diagrams/`` and ``tests/charts/``, with
``scalpchart`` on PATH. Blocks run in README order in the same folder.

Output that varies from run to run is written ``...``: a line that is only ``...``
matches any number of lines (none included); ``...`` inside a line matches any text in
that line (ids, timings). A command with no output lines must print nothing.

An HTML comment on the line before a fenced block says more (invisible on GitHub):

- ``<!-- test: skip REASON -->``: not run (it needs a broker, a crash, a machine);
- ``<!-- test: slow -->``: run only with ``-m slow``;
- ``<!-- test: run -->`` before a ``python`` block: run it as a script (exit 0 expected).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COPIED = ("config", "docs", "diagrams", "tests/charts")
_MARK = re.compile(r"^<!--\s*test:\s*(skip|slow|run)\b\s*(.*?)\s*-->\s*$")
_FENCE = re.compile(r"^```(\w*)")


@dataclass(slots=True)
class Command:
    text: str
    expected: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Block:
    line: int  # of the opening fence, 1-based
    kind: str  # console, python, ...
    body: list[str]
    mark: str = ""  # skip, slow, run, or ""
    reason: str = ""

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"

    def commands(self) -> list[Command]:
        out: list[Command] = []
        pending = ""
        for raw in self.body:
            if pending:
                pending += "\n" + raw
                if not raw.endswith("\\"):
                    out[-1].text, pending = pending, ""
                continue
            if raw.startswith("$ "):
                out.append(Command(raw[2:]))
                if raw.endswith("\\"):
                    pending = raw[2:]
            elif out:
                out[-1].expected.append(raw)
            elif raw.strip():
                raise ValueError(f"{self.id}: output before the first command: {raw!r}")
        return out


def blocks(text: str | None = None) -> list[Block]:
    """Every fenced block of the README, with the mark on the line before it."""
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    found, i = [], 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        mark = _MARK.match(lines[i - 1]) if i > 0 else None
        found.append(Block(i + 1, fence.group(1), lines[i + 1:end],
                           mark.group(1) if mark else "", mark.group(2) if mark else ""))
        i = end + 1
    return found


def sandbox(folder: Path) -> Path:
    for name in COPIED:
        shutil.copytree(ROOT / name, folder / name)
    return folder


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(NO_COLOR="1", COLUMNS="100", TERM="dumb", PYTHONPATH=str(ROOT))
    return env


def run_block(block: Block, folder: Path, timeout_s: float = 300) -> list[str]:
    """Run a console block; return its mismatches (empty: as written)."""
    commands = block.commands()
    marker = "@@readme-command@@"
    # The marker keeps the previous command's status, so that `echo $?` says it.
    script = "exec 2>&1\n" + "".join(
        f"__rc=$?; echo '{marker}'; (exit $__rc)\n{c.text}\n" for c in commands)
    done = subprocess.run(["bash", "-c", script], cwd=folder, env=environment(),
                          capture_output=True, text=True, timeout=timeout_s, check=False)
    outputs = done.stdout.split(marker + "\n")[1:]
    problems = []
    for command, output in zip(commands, outputs, strict=False):
        actual = [line.rstrip() for line in output.splitlines()]
        if not matches([line.rstrip() for line in command.expected], actual):
            problems.append(f"$ {command.text}\n--- expected\n" + "\n".join(command.expected)
                            + "\n--- actual\n" + "\n".join(actual))
    if len(outputs) < len(commands):
        problems.append(f"only {len(outputs)} of {len(commands)} commands ran: {done.stdout}")
    return problems


def run_python(block: Block, folder: Path,
               timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "\n".join(block.body)], cwd=folder,
                          env=environment(), capture_output=True, text=True,
                          timeout=timeout_s, check=False)


def matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` against ``actual``, with ``...`` lines and ``...`` inside lines."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and _line(head, actual[0]) and matches(rest, actual[1:])


def _line(pattern: str, text: str) -> bool:
    if "..." not in pattern:
        return pattern == text
    regex = ".*".join(re.escape(part) for part in pattern.split("..."))
    return re.fullmatch(regex, text) is not None
