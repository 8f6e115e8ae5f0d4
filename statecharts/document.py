"""Reading a document's bytes safely: regular files only, bounded size, UTF-8 text.

Whatever the bytes, the outcome is text, a :class:`DocumentInvalid` with the located
problem (``yaml-limit``, ``yaml-encoding``) or a :class:`DocumentUnreadable`
(missing, a directory, a FIFO, a device, a symlink loop, no permission).
Nothing here blocks: a FIFO is opened non-blocking and refused, never read.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from statecharts.errors import DocumentInvalid, DocumentUnreadable, Problem

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian"),
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian"),
    (b"\xfe\xff", "UTF-16 (big-endian"),
    (b"\xff\xfe", "UTF-16 (little-endian"),
)
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class DocumentBudget:
    """What one document may cost. The defaults are far above any real chart or limits
    file (the shipped chart is ~7 KiB, ~500 values, 5 levels deep, no aliases)."""

    max_bytes: int = 1 << 20  # 1 MiB
    max_depth: int = 64  # nested mappings/sequences
    max_nodes: int = 50_000  # values (keys included), counting each alias as a copy
    max_aliases: int = 1_000  # alias uses (*name)
    max_int_digits: int = 100


DEFAULT_BUDGET = DocumentBudget()


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def read_bytes(path: Path | str, budget: DocumentBudget = DEFAULT_BUDGET) -> bytes:
    """The bytes of a regular file, at most ``budget.max_bytes + 1`` of them."""
    file = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(file, flags)
    except OSError as err:
        raise DocumentUnreadable(file, _os_reason(err)) from err
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DocumentUnreadable(file, f"{_kind(mode)}, not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= budget.max_bytes:
            chunk = os.read(fd, min(1 << 16, budget.max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as err:
        raise DocumentUnreadable(file, _os_reason(err)) from err
    finally:
        os.close(fd)


def _os_reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def read_text(path: Path | str, budget: DocumentBudget = DEFAULT_BUDGET) -> str:
    """A regular file's content as text (UTF-8, with or without BOM)."""
    return decode(str(path), read_bytes(path, budget), budget)


def decode(file: str, data: bytes, budget: DocumentBudget = DEFAULT_BUDGET) -> str:
    """UTF-8 bytes as text; any other encoding or binary content is a located problem."""
    if len(data) > budget.max_bytes:
        raise DocumentInvalid([_too_big(file, budget)])
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise DocumentInvalid([Problem(file, 1, 1, "yaml-encoding",
                                        f"the file is {name}, with a byte-order mark): "
                                        "save it as UTF-8")])
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _position(data, nul)
        raise DocumentInvalid([Problem(file, line, col, "yaml-encoding",
                                    "NUL byte: binary, UTF-16 or UTF-32 content; "
                                    "the file must be UTF-8 text")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line, col = _position(data, err.start)
        byte = data[err.start]
        raise DocumentInvalid([Problem(file, line, col, "yaml-encoding",
                                    f"byte 0x{byte:02x} is not valid UTF-8: "
                                    "the file must be UTF-8 text")]) from err


def check_text(file: str, text: str, budget: DocumentBudget = DEFAULT_BUDGET) -> str:
    """Text handed over in memory: the same size bound, no unencodable characters, no BOM."""
    if len(text) > budget.max_bytes:
        raise DocumentInvalid([_too_big(file, budget)])
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        line, col = text_position(text, err.start)
        raise DocumentInvalid([Problem(file, line, col, "yaml-encoding",
                                    f"character {text[err.start]!r} cannot be encoded "
                                    "as UTF-8")]) from err
    return text.removeprefix("\ufeff")


def _too_big(file: str, budget: DocumentBudget) -> Problem:
    return Problem(file, 1, 1, "yaml-limit",
                   f"the document is larger than {budget.max_bytes} bytes")


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte ``offset``."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace"))
    return data.count(b"\n", 0, offset) + 1, column + 1


def text_position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character ``index``."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1
