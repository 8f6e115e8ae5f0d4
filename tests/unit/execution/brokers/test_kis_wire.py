"""The fill notice's wire format: column versions, records by name, frames, AES-256-CBC.

The cipher text below was made with OpenSSL, independently of our code:
``openssl enc -aes-256-cbc -K <hex key> -iv <hex iv> -base64 -A``.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution.brokers.kis import wire
from execution.brokers.kis.notices import Notice
from execution.contracts import Side

KEY, IV = "abcdefghijklmnopqrstuvwxyz123456", "0123456789abcdef"
# a fill of 100 005930 at 75100 on order 0000100001, examples-2025-07 column order
PLAIN = ("paper^00000001^0000100001^^02^0^00^0^005930^100^75100^100012^0^2^2^01234^100^"
         "PAPER^0^1^Y^^10^^005930^75100")
OPENSSL = ("1B9uNYxUpDMrH75yxNY9oTmO4eJL4ffHzu/5HIcHkAbPr7AdV857x+n6lWLc5LKpAHhq8yz2sPP0dA+k"
           "rKiXixsFEo2Eg67M8ute75TGAREbNPxc3BupWiOattl42+OehGgWyWN+QG0SHZg5qbmQlw==")
SPEC_ORDER = ("CUST_ID, ACNT_NO, ODER_NO, ODER_QTY, SELN_BYOV_CLS, RCTF_CLS, ODER_KIND, ODER_COND, "
              "STCK_SHRN_ISCD, CNTG_QTY, CNTG_UNPR, STCK_CNTG_HOUR, RFUS_YN, CNTG_YN, ACPT_YN, "
              "BRNC_NO, ACNT_NO2, ACNT_NAME, ORD_COND_PRC, ORD_EXG_GB, POPUP_YN, FILLER, CRDT_CLS, "
              "CRDT_LOAN_DATE, CNTG_ISNM40, ODER_PRC")  # as written in the spec sheet


def test_both_column_versions_have_26_fields() -> None:
    for version, names in wire.NOTICE_COLUMNS.items():
        assert len(names) == 26, version
        assert len(set(names)) == 26, version
    assert wire.NOTICE_COLUMNS["backtester-2025"] == tuple(SPEC_ORDER.split(", "))
    assert wire.NOTICE_COLUMNS["examples-2025-07"][3] == "OODER_NO"
    assert wire.NOTICE_COLUMNS["examples-2025-07"][16] == "ODER_QTY"


def test_aes_matches_openssl_both_ways() -> None:
    assert wire.encrypt(KEY, IV, PLAIN) == OPENSSL
    assert wire.decrypt(KEY, IV, OPENSSL) == PLAIN


@pytest.mark.parametrize("key, iv", [(KEY[:16], IV), (KEY, IV[:8])])
def test_aes_needs_a_32_byte_key_and_16_byte_iv(key: str, iv: str) -> None:
    with pytest.raises(wire.WireError, match="32-byte key"):
        wire.encrypt(key, iv, "x")


def test_a_wrong_key_or_garbage_is_a_wire_error_not_a_crash() -> None:
    with pytest.raises(wire.WireError):
        wire.decrypt("b" * 32, IV, OPENSSL)
    with pytest.raises(wire.WireError, match="base64"):
        wire.decrypt(KEY, IV, "not base64!!")
    with pytest.raises(wire.WireError, match="multiple"):
        wire.decrypt(KEY, IV, "AAAA")


def test_records_parse_by_name_in_either_version() -> None:
    record = wire.decode_records(PLAIN, 1, "examples-2025-07")[0]
    assert record["ODER_NO"] == "0000100001" and record["CNTG_QTY"] == "100"
    assert record["ODER_QTY"] == "100" and record["OODER_NO"] == ""
    notice = Notice.parse(record)
    assert (notice.odno, notice.symbol, notice.side, notice.qty, notice.price) == (
        "0000100001", "005930", Side.BUY, 100, Decimal(75100))
    assert notice.is_fill and not notice.rejected and notice.hhmmss == "100012"
    # the same notice in the spec's order: a parser by position would read garbage
    spec = wire.encode_records([{k: v for k, v in record.items()
                                 if k in wire.columns("backtester-2025")}], "backtester-2025")
    again = Notice.parse(wire.decode_records(spec, 1, "backtester-2025")[0])
    assert (again.odno, again.qty, again.price, again.order_qty) == (
        "0000100001", 100, Decimal(75100), 100)


def test_several_records_in_one_frame_and_a_wrong_count() -> None:
    payload = wire.encode_records([{"ODER_NO": "1"}, {"ODER_NO": "2"}], "examples-2025-07")
    assert [r["ODER_NO"] for r in wire.decode_records(payload, 2, "examples-2025-07")] == [
        "1", "2"]
    with pytest.raises(wire.WireError, match="52 fields for 1 record"):
        wire.decode_records(payload, 1, "examples-2025-07")
    with pytest.raises(wire.WireError, match="23 fields"):  # an old 23-field feed
        wire.decode_records("^".join(["x"] * 23), 1, "examples-2025-07")


def test_frames() -> None:
    frame = wire.Frame(True, "H0STCNI9", 1, OPENSSL)
    raw = frame.encode()
    assert raw.startswith("1|H0STCNI9|001|")
    assert wire.is_data_frame(raw) and not wire.is_data_frame('{"header": {}}')
    assert wire.parse_frame(raw) == frame
    with pytest.raises(wire.WireError):
        wire.parse_frame("1|H0STCNI9|x|payload")
    with pytest.raises(wire.WireError):
        wire.encode_records([{"NOT_A_FIELD": "1"}], "examples-2025-07")
    with pytest.raises(wire.WireError, match="unknown notice column version"):
        wire.columns("v23")
    with pytest.raises(wire.WireError, match="separator"):
        wire.encode_records([{"ODER_NO": "1^2"}], "examples-2025-07")
