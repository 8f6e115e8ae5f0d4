"""Access tokens: a file per app key (0600), one issuance a minute, renewal, expiry."""

from __future__ import annotations

import asyncio
import json
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from execution.brokers.kis.auth import TOKEN_PATH, TokenManager, cache_path_for
from execution.brokers.kis.config import KisConfig, KisCredentials
from execution.brokers.kis.errors import KisAnswerError, KisAuthError
from execution.sim.vclock import run_virtual

CREDS = KisCredentials("PSkeyAAAA", "secretBBBB", "hts")


class FakeKis:
    """Issues tokens ``t1, t2, ...``; refuses a second one within a minute like KIS."""

    def __init__(self, clock: list[float]) -> None:
        self.clock, self.last = clock, -1e9
        self.calls: list[tuple[str, dict[str, str]]] = []

    async def post(self, path: str, body: dict[str, str]) -> dict[str, Any]:
        self.calls.append((path, body))
        if path == TOKEN_PATH:
            if self.clock[0] - self.last < 60:
                raise KisAnswerError(path, "EGW00133", "1분당 1회", 403)
            self.last = self.clock[0]
            return {"access_token": f"t{len(self.calls)}", "token_type": "Bearer",
                    "expires_in": 86400, "access_token_token_expired": "2024-06-04 10:00:00"}
        return {"approval_key": "approval-1"}


def manager(tmp_path: Path, clock: list[float], **changes: Any) -> tuple[TokenManager, FakeKis]:
    config = replace(KisConfig(token_cache_dir=tmp_path), **changes)
    fake = FakeKis(clock)
    return TokenManager(config, CREDS, fake.post, wall=lambda: clock[0]), fake


def test_a_token_is_issued_once_cached_in_a_private_file_and_reused(tmp_path: Path) -> None:
    clock = [1000.0]
    tokens, fake = manager(tmp_path, clock)
    assert run_virtual(tokens.token()) == "t1"
    assert run_virtual(tokens.token()) == "t1"
    assert fake.calls == [(TOKEN_PATH, {"grant_type": "client_credentials",
                                        "appkey": "PSkeyAAAA", "appsecret": "secretBBBB"})]
    path = cache_path_for(KisConfig(token_cache_dir=tmp_path), "PSkeyAAAA")
    assert path == tokens.cache_file and "PSkeyAAAA" not in path.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["access_token"] == "t1"
    # another process (a new manager) reads the file instead of issuing
    again, fake2 = manager(tmp_path, clock)
    assert run_virtual(again.token()) == "t1" and fake2.calls == []


def test_renewed_before_expiry_but_not_twice_a_minute(tmp_path: Path) -> None:
    clock = [1000.0]
    tokens, fake = manager(tmp_path, clock, refresh_before_expiry_s=3600)
    run_virtual(tokens.token())
    clock[0] += 86400 - 3000  # inside the renewal margin
    assert run_virtual(tokens.token()) == "t2"
    clock[0] += 10  # renewal due again? no: fresh now
    assert run_virtual(tokens.token()) == "t2" and len(fake.calls) == 2


def test_an_expired_token_waits_out_the_minute_then_renews(tmp_path: Path) -> None:
    clock = [1000.0]
    tokens, _ = manager(tmp_path, clock)
    first = run_virtual(tokens.token())
    tokens.invalidate(first)

    async def renew() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        clock_task = loop.create_task(_advance(clock, 61))
        token = await tokens.token()
        waited = loop.time() - started
        await clock_task
        return token, waited

    token, waited = run_virtual(renew())
    assert token == "t2" and 59 <= waited <= 61


async def _advance(clock: list[float], seconds: float) -> None:
    for _ in range(int(seconds)):  # the wall clock runs a tick ahead of the loop's
        clock[0] += 1
        await asyncio.sleep(1)


def test_a_refused_issuance_is_a_transient_auth_error(tmp_path: Path) -> None:
    clock = [1000.0]
    tokens, fake = manager(tmp_path, clock, min_issue_interval_s=0)
    fake.last = clock[0]  # someone else just took this minute's token
    with pytest.raises(KisAuthError, match="EGW00133"):
        run_virtual(tokens.token())


def test_the_approval_key(tmp_path: Path) -> None:
    tokens, fake = manager(tmp_path, [0.0])
    assert run_virtual(tokens.approval_key()) == "approval-1"
    assert fake.calls[-1][1] == {"grant_type": "client_credentials", "appkey": "PSkeyAAAA",
                                 "secretkey": "secretBBBB"}
