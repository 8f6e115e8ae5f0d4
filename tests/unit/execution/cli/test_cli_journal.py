"""``run --journal``, ``journal show`` and ``recover`` from the command line: the journal
written, read back for an audit, and every bad input a clear error (exit 2)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from execution.brokers.kis import load_kis_config
from execution.cli import main
from execution.journal import open_journal, schema

RUN = ["run", "--symbol", "005930", "--side", "buy", "--qty", "100", "--urgency", "high",
       "--clock", "virtual", "--seed", "7"]
ENV = {"KIS_APP_KEY": "k", "KIS_APP_SECRET": "s", "KIS_HTS_ID": "h"}


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_writes_the_journal_and_show_reads_it(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    journal = tmp_path / "day.sqlite"
    code, out, _ = cli(capsys, *RUN, "--journal", str(journal), "--format", "json")
    assert code == 0
    first = json.loads(out)["execution_id"]
    code, out, _ = cli(capsys, *RUN, "--journal", str(journal), "--format", "json")
    second = json.loads(out)["execution_id"]
    assert first != second and first.startswith("X") and len(first) == 15

    code, out, _ = cli(capsys, "journal", "show", str(journal))
    assert code == 0
    assert f"schema {schema.LATEST}" in out and "2 session(s), 2 execution(s)" in out
    assert "2 trade(s) counted (GR062); positions: 005930 +200" in out
    assert first in out and "COMPLETE" in out

    code, out, _ = cli(capsys, "journal", "show", str(journal), "--execution", first,
                       "--format", "json")
    assert code == 0
    data = json.loads(out)
    kinds = [e["kind"] for e in data["events"]]
    assert kinds[0] == "transition" and kinds[-1] == "result"  # (in time order)
    assert kinds.index("plan") < kinds.index("order") < kinds.index("fill")  # written ahead
    assert data["execution"]["filled_qty"] == 100 and data["execution"]["final_state"] \
        == "COMPLETE"
    code, out, _ = cli(capsys, "journal", "show", str(journal), "--execution", first)
    assert "plan" in out and "--start--> PRECHECK" in out and "client " + first + "-1" in out
    assert out.splitlines()[1].split()[1] == "intent"  # the timeline starts with the intent


def test_show_flags_an_unfinished_execution(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date

    from execution.contracts import ExecutionIntent, Side

    path = tmp_path / "j.sqlite"
    journal = open_journal(path)
    journal.intent("E1", ExecutionIntent("005930", Side.SELL, 10), date(2024, 6, 3))
    journal.close()
    code, out, _ = cli(capsys, "journal", "show", str(path))
    assert code == 1 and "1 UNFINISHED: run scalpchart recover" in out
    code, out, _ = cli(capsys, "journal", "show", str(path), "--execution", "NOPE")
    assert code == 2


@pytest.mark.parametrize("content, message", [
    (b"garbage " * 500, "not a readable journal"),
    (None, "newer scalpchart"),
])
def test_a_bad_journal_is_a_clear_error_and_nothing_is_sent(
        content: bytes | None, message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "j.sqlite"
    if content is None:
        open_journal(path).close()
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA user_version = {schema.LATEST + 5}")
        db.close()
    else:
        path.write_bytes(content)
    code, out, err = cli(capsys, *RUN, "--journal", str(path))
    assert code == 2 and message in err and "nothing sent" in err and not out
    assert "Traceback" not in err
    code, _, err = cli(capsys, "journal", "show", str(path))
    assert code == 2 and message in err


def test_show_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "journal", "show", str(tmp_path / "none.sqlite"))
    assert code == 2 and "no such file" in err


def test_journal_and_no_journal_exclude_each_other(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, *RUN, "--journal", str(tmp_path / "j"), "--no-journal")
    assert code == 2 and "exclude each other" in err


def test_recover_refuses_the_simulator_and_resume(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    journal = str(tmp_path / "j.sqlite")
    code, _, err = cli(capsys, "recover", "--journal", journal, "--broker", "sim")
    assert code == 2 and "lives inside the engine's process" in err
    code, _, err = cli(capsys, "recover", "--journal", journal, "--broker", "kis",
                       "--policy", "resume")
    assert code == 2 and "resume is not available" in err and "--policy escape" in err
    assert main(["recover", "--journal", journal, "--broker", "kis",
                 "--in-doubt-wait-ms", "-1"]) == 2  # one-line usage error, exit 2
    assert "must be between 0 and 600000" in capsys.readouterr().err


def test_the_kis_configuration_turns_the_journal_on() -> None:
    config = load_kis_config()
    assert config.journal_path is not None and config.journal_path.is_absolute()
    assert config.journal_path.name == "kis-journal.sqlite" and config.journal_sync == "normal"
