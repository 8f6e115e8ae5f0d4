"""Fuzz: any bytes as a chart or limits file end cleanly everywhere they are read.

Documents are raw bytes, mutations of the shipped files (tokens replaced by nasty ones,
names renamed everywhere, lines dropped, duplicated, swapped or re-indented, bytes
flipped, re-encoded, cut short) and constructed attacks (alias bombs, deep nesting,
huge numbers, tags). For each, in-process:

- ``scalpchart validate`` (and ``matrix`` for charts) exits 0, or 1 with every line
  ``FILE:LINE:COL: [rule] message``, or 2 with one ``cannot read`` line; no traceback;
- the Engine constructor (and the limits loader) agree with validate: they succeed
  exactly when validate accepts, and otherwise raise a ChartError;
- a document validate accepts runs: one intent ends in a final state, an error in a
  stage never ends as a success, nothing escapes to the event loop;
- each document takes bounded time and bounded memory (the peak resident memory it adds,
  measured per document; documents reach the size and value bounds: lines copied
  thousands of times).

The default suite runs a seeded 200; ``make fuzz`` (marker ``fuzz``) runs 10,000.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MINIMAL_CHART, PRODUCT_CHART, PRODUCT_LIMITS
from hostile_kit import Cli, assert_located, cli, run_intent, warm_up
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution.engine import Engine
from execution.settings import load_engine_limits
from execution.sim import SimulatedExchange
from statecharts.document import DEFAULT_BUDGET
from statecharts.errors import ChartError

FUZZ_EXAMPLES = int(os.environ.get("SCALPCHART_FUZZ_EXAMPLES", "10000"))
SECONDS_PER_DOCUMENT = 20.0  # generous for a loaded machine; typical is milliseconds
PEAK_KIB_PER_DOCUMENT = 256 << 10  # resident memory a document may add at its peak

SHIPPED = {"chart": (PRODUCT_CHART.read_bytes(), MINIMAL_CHART.read_bytes()),
           "limits": (PRODUCT_LIMITS.read_bytes(),)}
TOKEN = re.compile(rb"[A-Za-z_][A-Za-z0-9_.]*|[0-9]+(?:\.[0-9]+)?")
NAMES = [b"send", b"model", b"final", b"code", b"error", b"error_execution", b"state", b"start",
         b"escape", b"timeout", b"COMPLETE", b"ESCAPED", b"FAILED", b"ESCAPING", b"INIT",
         b"filled", b"sent"]
NASTY = [*NAMES, b"1.0e400", b"-1.0e400", b"9" * 401, b"9" * 5000, b"0", b"-1", b"0.0",
         b"1e3", b".inf", b".nan", b"1:30", b"0x1F", b"017", b"yes", b"off", b"null", b"~",
         b"''", b'""', b"!!python/object:os.system", b"!custom", b"!!str", b"&a", b"*a",
         b"&a [*a]", b"*undefined", b"[", b"]", b"{", b"}", b"<<: *a", b"? ", b"- ", b": ",
         b"#", b"|", b">-", b"---\n", b"...\n", b"%YAML 1.1\n", b"\t", b"\x00", b"\x07",
         b"\xef\xbb\xbf", b"\xff\xfe", b"\xff", b"\r\n", "\u2028".encode(), "é".encode()]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


@st.composite
def mutation(draw: st.DrawFn, data: bytes,  # noqa: C901 - one branch per kind
             max_copies: int) -> bytes:
    kind = draw(st.sampled_from(["token", "rename", "drop", "dup", "swap", "indent", "insert",
                                 "flip", "cut", "number", "encode", "append", "widen"]))
    lines = _lines(data)
    line = draw(st.integers(0, max(len(lines) - 1, 0)))
    if kind in ("token", "rename", "number"):
        matches = list(TOKEN.finditer(data))
        if not matches:
            return data
        match = matches[draw(st.integers(0, len(matches) - 1))]
        new = draw(st.one_of(st.sampled_from(NASTY), st.sampled_from(
            [m.group() for m in matches]), st.from_regex(rb"[a-z][a-z0-9_]{0,12}", fullmatch=True)))
        if kind == "number":
            new = str(draw(st.one_of(st.integers(-10**30, 10**30), st.floats(
                allow_nan=False, allow_infinity=False)))).encode()
        if kind == "rename":
            return re.sub(rb"\b" + re.escape(match.group()) + rb"\b", new.replace(b"\\", b""),
                          data)
        return data[:match.start()] + new + data[match.end():]
    if kind == "drop":
        return b"\n".join(lines[:line] + lines[line + 1:])
    if kind == "dup":
        return b"\n".join(lines[:line + 1] + lines[line:])
    if kind == "widen":  # copies of a line with numbered names: many states or transitions
        copies = draw(st.integers(1, max_copies))
        first = TOKEN.search(lines[line])
        if first is None:
            return data
        made = [lines[line][:first.end()] + b"%d" % i + lines[line][first.end():]
                for i in range(copies)]
        return b"\n".join(lines[:line + 1] + made + lines[line + 1:])
    if kind == "swap":
        other = draw(st.integers(0, len(lines) - 1))
        lines[line], lines[other] = lines[other], lines[line]
        return b"\n".join(lines)
    if kind == "indent":
        lines[line] = (b"  " + lines[line]) if draw(st.booleans()) else lines[line][2:]
        return b"\n".join(lines)
    position = draw(st.integers(0, len(data)))
    if kind == "insert":
        return data[:position] + draw(st.binary(min_size=1, max_size=16)) + data[position:]
    if kind == "flip" and data:
        index = min(position, len(data) - 1)
        return data[:index] + bytes([data[index] ^ draw(st.integers(1, 255))]) + data[index + 1:]
    if kind == "cut":
        return data[:position]
    if kind == "encode":
        text = data.decode("utf-8", "replace")
        codec = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "utf-8-sig", "latin-1"]))
        return text.encode(codec, "replace")
    return data + b"\nzz_extra: " + draw(attack())


@st.composite
def attack(draw: st.DrawFn) -> bytes:
    """A constructed hostile value (to append under a key, or as a whole document)."""
    kind = draw(st.sampled_from(["bomb", "deep_flow", "deep_block", "int", "float", "tag",
                                 "aliases", "size"]))
    n = draw(st.integers(1, 12))
    if kind == "bomb":
        fanout = draw(st.integers(2, 12))
        parts = ["&l0 [lol, lol]"] + [
            f"&l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]" for i in range(1, n + 1)]
        return ("[" + ", ".join(parts) + "]").encode()
    if kind == "deep_flow":
        depth = draw(st.integers(1, 6000))
        return b"[" * depth + b"]" * depth
    if kind == "deep_block":
        depth = draw(st.integers(1, 400))
        return b"\n" + b"".join(b"  " * (i + 1) + b"k%d:\n" % i for i in range(depth)) \
            + b"  " * (depth + 1) + b"x"
    if kind == "int":
        return b"9" * draw(st.integers(1, 6000))
    if kind == "float":
        return b"1.5e%d" % draw(st.integers(250, 500))
    if kind == "tag":
        tag = draw(st.sampled_from([b"!!python/object:os.system", b"!custom", b"!!map",
                                    b"!<tag:yaml.org,2002:str>", b"!"]))
        return tag + b" {a: 1}"
    if kind == "aliases":
        count = draw(st.integers(1, 3000))
        return b"[&x 1, " + b", ".join([b"*x"] * count) + b"]"
    size = DEFAULT_BUDGET.max_bytes + draw(st.integers(-64, 64))
    return b"'" + b"x" * size + b"'"


@st.composite
def documents(draw: st.DrawFn, max_copies: int = 9000) -> tuple[str, bytes]:
    """``max_copies``: how many copies of a line "widen" may add (9,000 reach the bounds)."""
    kind = draw(st.sampled_from(["chart", "chart", "limits"]))
    source = draw(st.sampled_from(["mutated", "mutated", "mutated", "bytes", "attack"]))
    if source == "bytes":
        return kind, draw(st.binary(max_size=2048))
    if source == "attack":
        return kind, draw(attack())
    data = draw(st.sampled_from(SHIPPED[kind]))
    for _ in range(draw(st.integers(1, 4))):
        data = draw(mutation(data, max_copies))
    return kind, data


def _outcome(result: Cli, path: Path, ok: str) -> int:
    """``ok``: what the last line of a success's output contains."""
    if result.code == 0:
        assert ok in result.out.strip().rsplit("\n", 1)[-1] and result.err == "", result
    else:
        assert_located(result, path)
    return result.code


def _engine_agrees(kind: str, path: Path, accepted: bool) -> None:
    try:
        if kind == "chart":
            Engine(SimulatedExchange(seed=1, start_ns=0), chart=path)
        else:
            load_engine_limits(path)
    except ChartError:
        assert not accepted, "validate accepted what the engine refuses"
        return
    assert accepted, "the engine accepted what validate refuses"


def check_document(kind: str, data: bytes, stats: Counter[str]) -> None:
    directory = Path(tempfile.mkdtemp(prefix="fuzz-"))
    before = _reset_peak()
    started = time.perf_counter()
    try:
        path = directory / f"{kind}.yaml"
        path.write_bytes(data)
        args = [path] if kind == "chart" else ["--limits", path]
        code = _outcome(cli("validate", *args), path, ": chart ok, limits ok (")
        if kind == "chart":  # matrix needs no limits: a chart's limit keys are validate's
            assert _outcome(cli("matrix", path), path, "") in {0, code}
        _engine_agrees(kind, path, code == 0)
        stats[f"{kind} exit {code}"] += 1
        if code == 0:
            outcome = run_intent(**{kind: path}, escape_after_ms=None)
            assert not outcome.loop_errors, outcome.loop_errors
            assert outcome.role is not None
            if outcome.errors:
                assert outcome.role != "success", outcome
            stats[f"{kind} ran to {outcome.role}"] += 1
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    assert time.perf_counter() - started < SECONDS_PER_DOCUMENT
    added = _peak_kib() - before
    stats["max MiB added by one document"] = max(stats["max MiB added by one document"],
                                                 added >> 10)
    assert added < PEAK_KIB_PER_DOCUMENT


_CLEAR_REFS = Path("/proc/self/clear_refs")


def _reset_peak() -> int:
    """Start measuring a document's peak: the resident KiB now (Linux resets the process's
    high-water mark; elsewhere the all-time peak is the baseline, a weaker check)."""
    try:
        _CLEAR_REFS.write_text("5")
        return _status_kib("VmRSS")
    except OSError:
        return _peak_kib()


def _peak_kib() -> int:
    try:
        return _status_kib("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


@pytest.fixture(scope="module")
def stats() -> Iterator[Counter[str]]:
    warm_up()  # the first run builds the trading calendar: not a document's cost
    counter: Counter[str] = Counter()
    yield counter
    print(f"\nfuzzed {sum(v for k, v in counter.items() if 'exit' in k)} documents: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(counter.items())))


COMMON = {"deadline": None, "database": None,
          "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                    HealthCheck.large_base_example]}


@settings(max_examples=200, derandomize=True, **COMMON)  # type: ignore[arg-type]
@given(documents(max_copies=1500))  # smaller documents: the default suite stays quick
def test_hostile_documents_seeded(stats: Counter[str], document: tuple[str, bytes]) -> None:
    check_document(*document, stats)


@pytest.mark.fuzz
@settings(max_examples=FUZZ_EXAMPLES, **COMMON)  # type: ignore[arg-type]
@given(documents())
def test_hostile_documents_fuzz(stats: Counter[str], document: tuple[str, bytes]) -> None:
    check_document(*document, stats)
