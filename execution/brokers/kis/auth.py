"""Access tokens and the WebSocket approval key.

A token is issued by ``POST /oauth2/tokenP`` and lasts about a day; KIS issues at most
one a minute per app key. Tokens are cached in a file per (app key, server), named by
a hash so neither the key nor the token shows in a directory listing, written with
mode 0600, and reused until ``refresh_before_expiry_s`` before they expire. An answer
``EGW00123`` (expired) invalidates the token; the next call issues a new one, waiting
out the one-a-minute rule if it must.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from execution.brokers.kis.config import KisConfig, KisCredentials
from execution.brokers.kis.errors import KisAnswerError, KisAuthError

log = logging.getLogger("execution.brokers.kis.auth")
TOKEN_PATH, APPROVAL_PATH = "/oauth2/tokenP", "/oauth2/Approval"
Poster = Callable[[str, dict[str, str]], Awaitable[dict[str, Any]]]


class TokenManager:
    def __init__(self, config: KisConfig, creds: KisCredentials, post: Poster,
                 wall: Callable[[], float] = time.time) -> None:
        self._config, self._creds, self._post, self._wall = config, creds, post, wall
        self.cache_file = cache_path_for(config, creds.app_key)
        self._token: str | None = None
        self._expires_at = 0.0
        self._issued_at = 0.0
        self._lock = asyncio.Lock()
        self._approval: str | None = None
        self.issued = 0  # tokens issued by this process (for tests and reports)

    # -- access token ---------------------------------------------------------------------
    async def token(self) -> str:
        if self._fresh():
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._fresh():
                self._load_file()
            if not self._fresh():
                await self._issue()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str) -> None:
        """The server said ``token`` expired: never use it again (nor its cached copy)."""
        if token == self._token:
            self._token, self._expires_at = None, 0.0
            with contextlib.suppress(OSError):
                self._write_file()

    def _fresh(self) -> bool:
        margin = self._config.refresh_before_expiry_s
        return self._token is not None and self._wall() < self._expires_at - margin

    def _usable(self) -> bool:
        return self._token is not None and self._wall() < self._expires_at

    async def _issue(self) -> None:
        wait = self._issued_at + self._config.min_issue_interval_s - self._wall()
        if wait > 0:
            if self._usable():  # renew later; the current token still works
                return
            log.warning("access token expired; KIS issues one a minute: waiting %.1f s", wait)
            await asyncio.sleep(wait)
        body = {"grant_type": "client_credentials", "appkey": self._creds.app_key,
                "appsecret": self._creds.app_secret}
        try:
            answer = await self._post(TOKEN_PATH, body)
        except KisAnswerError as err:
            if err.msg_cd in self._config.errors.token_issue_limited:
                self._issued_at = self._wall()  # someone else just issued one: wait a minute
            raise KisAuthError(f"access token refused: {err}") from None
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(token, str) or not token or expires_in is None:
            raise KisAuthError("access token answer without access_token/expires_in")
        now = self._wall()
        self._token, self._expires_at, self._issued_at = token, now + float(expires_in), now
        self.issued += 1
        try:
            self._write_file()
        except OSError as err:
            log.warning("could not cache the access token in %s: %s", self.cache_file.parent,
                        err.strerror)

    def _load_file(self) -> None:
        try:
            data = json.loads(self.cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if not isinstance(data, dict):
            return
        self._issued_at = max(self._issued_at, float(data.get("issued_at", 0.0)))
        token, expires_at = data.get("access_token"), float(data.get("expires_at", 0.0))
        if isinstance(token, str) and token:
            self._token, self._expires_at = token, expires_at

    def _write_file(self) -> None:
        directory = self.cache_file.parent
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{self.cache_file.name}.{os.getpid()}.tmp"
        payload = json.dumps({"access_token": self._token or "", "expires_at": self._expires_at,
                              "issued_at": self._issued_at})
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
        os.replace(tmp, self.cache_file)

    # -- WebSocket approval key -----------------------------------------------------------
    async def approval_key(self, *, renew: bool = False) -> str:
        if self._approval is None or renew:
            body = {"grant_type": "client_credentials", "appkey": self._creds.app_key,
                    "secretkey": self._creds.app_secret}
            try:
                answer = await self._post(APPROVAL_PATH, body)
            except KisAnswerError as err:
                raise KisAuthError(f"approval key refused: {err}") from None
            key = answer.get("approval_key")
            if not isinstance(key, str) or not key:
                raise KisAuthError("approval answer without approval_key")
            self._approval = key
        return self._approval


def cache_path_for(config: KisConfig, app_key: str) -> Path:
    """Where the token of ``app_key`` on ``config``'s server is cached."""
    digest = hashlib.sha256(f"{app_key}|{config.rest_url}".encode()).hexdigest()
    return config.token_cache_dir.expanduser() / f"token-{digest[:24]}.json"
