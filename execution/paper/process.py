"""Starting the paper exchange as a separate process (tests, demos, benchmarks).

>>> with PaperProcess(["--faults", "lose=1"]) as paper:    # doctest: +SKIP
...     paper.rest_url, paper.ws_url
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from types import TracebackType
from typing import Any

_LINE = re.compile(r"^listening on (http://\S+) (ws://\S+)$")


class PaperProcess:
    """``scalpchart exchange serve --port 0 ARGS`` in a child process; stopped by SIGTERM
    on exit. ``rest_url``/``ws_url`` come from its first line."""

    def __init__(self, args: Sequence[str] = (), *, start_timeout_s: float = 20.0) -> None:
        self.args = list(args)
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen[str] | None = None
        self.rest_url = self.ws_url = ""
        self.stderr = ""

    def start(self) -> PaperProcess:
        cmd = [sys.executable, "-m", "execution.cli", "exchange", "serve", "--port", "0",
               *self.args]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        match = _LINE.match(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"paper exchange did not start: first line {line!r}; "
                               f"stderr: {self.stderr[-2000:]}")
        self.rest_url, self.ws_url = match.group(1), match.group(2)
        return self

    def stop(self) -> int:
        """SIGTERM, wait; returns the exit code (a kill after 10 s counts as failure)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, self.stderr = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, self.stderr = self.proc.communicate()
            return -9
        return self.proc.returncode

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call ``/paper/admin/<path>`` (POST with ``body``, else GET); the JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.rest_url}/paper/admin/{path}", data=data,
                                         method="POST" if body is not None else "GET")
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())

    def __enter__(self) -> PaperProcess:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
