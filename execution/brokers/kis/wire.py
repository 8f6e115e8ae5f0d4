"""The KIS real-time wire format, shared by the adapter and the paper exchange.

Only the *encoding* lives here (the fill notice's column lists, its ``^``-joined
records, the ``0|tr_id|count|payload`` frame and the AES-256-CBC envelope); the
requests each side makes or answers are written separately on each side, so that
the contract tests between them test something.

The notice's 26 columns exist in two published orders (both in KIS's own
repository, koreainvestment/open-trading-api): ``examples-2025-07``
(``examples_llm/domestic_stock/ccnl_notice``, dated 2025-07-08: the original order
number ``OODER_NO`` fourth, the order quantity ``ODER_QTY`` seventeenth) and
``backtester-2025`` (``backtester/kis_backtest``, the order in our spec sheet:
``ODER_QTY`` fourth, ``ACNT_NO2`` seventeenth). Records are parsed by name from the
configured version, never by position, so a reordered or longer feed is one
configuration line away. The column lists are data: ``execution/data/kis_notice_columns.json``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from importlib import resources

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _load_columns() -> dict[str, tuple[str, ...]]:
    """The column orders, from ``execution/data/kis_notice_columns.json`` (data, not code)."""
    text = resources.files("execution").joinpath("data/kis_notice_columns.json").read_text()
    return {version: tuple(names) for version, names in json.loads(text).items()
            if not version.startswith("_")}


NOTICE_COLUMNS: dict[str, tuple[str, ...]] = _load_columns()
DEFAULT_NOTICE_COLUMNS = "examples-2025-07"
FIELD_SEP = "^"
AES_KEY_CHARS, AES_IV_CHARS = 32, 16


class WireError(ValueError):
    """A frame or notice that does not decode (bad base64, padding, field count)."""


def columns(version: str) -> tuple[str, ...]:
    try:
        return NOTICE_COLUMNS[version]
    except KeyError:
        known = ", ".join(NOTICE_COLUMNS)
        raise WireError(f"unknown notice column version {version!r} (known: {known})") from None


# -- records ------------------------------------------------------------------------------
def encode_records(records: list[dict[str, str]], version: str) -> str:
    """``^``-join every record's fields in the version's order (missing fields empty)."""
    names = columns(version)
    fields: list[str] = []
    for record in records:
        unknown = set(record) - set(names)
        if unknown:
            raise WireError(f"fields not in {version}: {sorted(unknown)}")
        fields.extend(_clean(record.get(name, "")) for name in names)
    return FIELD_SEP.join(fields)


def decode_records(payload: str, count: int, version: str) -> list[dict[str, str]]:
    """Split a payload of ``count`` records into dicts keyed by column name."""
    names = columns(version)
    fields = payload.split(FIELD_SEP)
    if count < 1 or len(fields) != count * len(names):
        raise WireError(f"{len(fields)} fields for {count} record(s) of {len(names)} "
                        f"columns ({version})")
    width = len(names)
    return [dict(zip(names, fields[i * width:(i + 1) * width], strict=True))
            for i in range(count)]


def _clean(value: str) -> str:
    if FIELD_SEP in value or "|" in value:
        raise WireError(f"field value {value!r} contains a separator")
    return value


# -- frames -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Frame:
    """A real-time data frame: ``<encrypted 0|1>|<tr_id>|<count>|<payload>``."""

    encrypted: bool
    tr_id: str
    count: int
    payload: str

    def encode(self) -> str:
        return f"{int(self.encrypted)}|{self.tr_id}|{self.count:03d}|{self.payload}"


def is_data_frame(raw: str) -> bool:
    """Data frames start with the encryption flag; control messages are JSON."""
    return raw[:1] in ("0", "1")


def parse_frame(raw: str) -> Frame:
    parts = raw.split("|", 3)
    if len(parts) != 4 or parts[0] not in ("0", "1"):
        raise WireError("not a data frame (expected 4 '|'-separated parts)")
    try:
        count = int(parts[2])
    except ValueError:
        raise WireError(f"bad record count {parts[2]!r}") from None
    return Frame(parts[0] == "1", parts[1], count, parts[3])


# -- AES-256-CBC --------------------------------------------------------------------------
def _cipher(key: str, iv: str) -> Cipher[modes.CBC]:
    key_bytes, iv_bytes = key.encode("utf-8"), iv.encode("utf-8")
    if len(key_bytes) != AES_KEY_CHARS or len(iv_bytes) != AES_IV_CHARS:
        raise WireError(f"AES-256-CBC needs a {AES_KEY_CHARS}-byte key and a "
                        f"{AES_IV_CHARS}-byte iv")
    return Cipher(algorithms.AES(key_bytes), modes.CBC(iv_bytes))


def encrypt(key: str, iv: str, plaintext: str) -> str:
    """base64(AES-256-CBC(PKCS7(utf-8 text))), as KIS encrypts fill notices."""
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = _cipher(key, iv).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode("ascii")


def decrypt(key: str, iv: str, text: str) -> str:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise WireError("payload is not base64") from None
    if not data or len(data) % 16:
        raise WireError("ciphertext length is not a multiple of the AES block")
    decryptor = _cipher(key, iv).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise WireError("bad padding or text after decryption (wrong key or iv?)") from None
