from __future__ import annotations

from pathlib import Path

import pytest

from execution.volume_profile import VolumeProfile

HEADER = "start,weight,phase\n"


def write(tmp_path: Path, body: str, *, header: str = HEADER) -> Path:
    path = tmp_path / "profile.csv"
    path.write_text("# a comment\n" + header + body, encoding="utf-8")
    return path


def test_shipped_profile_loads_and_is_u_shaped() -> None:
    profile = VolumeProfile.load()
    assert profile.bucket_minutes == 5
    assert profile.first_minute == 9 * 60
    assert profile.end_minute == 15 * 60 + 30
    assert len(profile.starts) == 78
    assert sum(profile.weights) == pytest.approx(100.0, abs=0.05)
    opening = profile.volume_between(9 * 60, 9 * 60 + 30)
    midday = profile.volume_between(12 * 60, 12 * 60 + 30)
    into_close = profile.volume_between(14 * 60 + 50, 15 * 60 + 20)
    assert opening > into_close > midday > 0


def test_shipped_profile_marks_the_closing_auction() -> None:
    profile = VolumeProfile.load()
    auction = [s for s, c in zip(profile.starts, profile.continuous, strict=True) if not c]
    assert auction == [15 * 60 + 20, 15 * 60 + 25]
    # the auction has volume but is never part of a continuous window
    assert profile.weights[-1] > 0
    assert profile.weights_between(15 * 60 + 20, 15 * 60 + 30) == []
    assert [s for s, _ in profile.weights_between(15 * 60 + 10, 16 * 60)] == [910, 915]


def test_default_profile_is_loaded_once() -> None:
    assert VolumeProfile.load() is VolumeProfile.load()


def test_weights_between_prorates_partial_buckets() -> None:
    profile = VolumeProfile.load()
    w0, w1 = profile.weights[0], profile.weights[1]
    ((start, weight),) = profile.weights_between(540, 545)
    assert start == 540
    assert weight == pytest.approx(w0)
    got = profile.weights_between(542, 546)
    assert [s for s, _ in got] == [540, 545]
    assert got[0][1] == pytest.approx(w0 * 3 / 5)
    assert got[1][1] == pytest.approx(w1 * 1 / 5)
    assert profile.weights_between(541.5, 542.5)[0][1] == pytest.approx(w0 / 5)


def test_weights_between_outside_the_session_is_empty() -> None:
    profile = VolumeProfile.load()
    assert profile.weights_between(8 * 60, 9 * 60) == []
    assert profile.weights_between(16 * 60, 17 * 60) == []
    assert profile.weights_between(600, 600) == []
    assert profile.weights_between(610, 600) == []


def test_custom_profile_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path, "10:00,1,continuous\n10:10,3,continuous\n10:20,0,closing_auction\n")
    profile = VolumeProfile.load(path)
    assert profile.bucket_minutes == 10
    assert profile.starts == (600, 610, 620)
    assert profile.continuous == (True, True, False)
    assert profile.volume_between(600, 630) == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("09:00,1,continuous\n09:05,-1,continuous\n", 4, "weight must be a finite number >= 0"),
        ("09:00,1,continuous\n09:05,nan,continuous\n", 4, "finite"),
        ("09:00,1,continuous\n09:05,abc,continuous\n", 4, "is not a number"),
        ("09:00,1,continuous\n09:10,1,continuous\n09:15,1,continuous\n", 5, "not contiguous"),
        ("09:05,1,continuous\n09:00,1,continuous\n", 4, "not sorted"),
        ("09:00,1,continuous\n9:05,1,continuous\n", 4, "HH:MM"),
        ("09:00,1,continuous\n24:05,1,continuous\n", 4, "not a time of day"),
        ("09:00,1,continuous\n09:05,1\n", 4, "expected 3 fields"),
        ("09:00,1,continuous\n09:05,1,lunch\n", 4, "phase must be one of"),
        ("09:00,1,closing_auction\n09:05,1,continuous\n", 4, "after the closing auction"),
        ("09:00,0,continuous\n09:05,0,continuous\n", 4, "sum to 0"),
        ("09:00,1,continuous\n", 3, "at least two buckets"),
        ("23:45,1,continuous\n23:58,1,continuous\n", 4, "past midnight"),
    ],
)
def test_bad_files_are_rejected_with_file_and_line(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ValueError, match=message) as info:
        VolumeProfile.load(path)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_bad_header_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "09:00,1\n09:05,1\n", header="minute,weight\n")
    with pytest.raises(ValueError, match=rf"^{path}:2: expected header"):
        VolumeProfile.load(path)


def test_missing_header_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("# only comments\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing header"):
        VolumeProfile.load(path)
