"""``make paper``: start the paper exchange, run one execution through the KIS adapter
against it, stop the exchange. Arguments are passed to ``scalpchart run``.

    python -m execution.paper.demo [RUN ARGS...]

The paper exchange accepts any app key and secret, so the demo sets placeholder
``KIS_APP_KEY``/``KIS_APP_SECRET``/``KIS_HTS_ID`` for the run when they are unset
(the process's own environment is left alone) and keeps the token cache in a
temporary directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from execution import paths
from execution.paper.process import PaperProcess

DEFAULT_RUN = ["--symbol", "005930", "--side", "buy", "--qty", "300", "--urgency", "high"]
PLACEHOLDERS = {"KIS_APP_KEY": "paper-app-key", "KIS_APP_SECRET": "paper-app-secret",
                "KIS_HTS_ID": "paper"}


def main(argv: list[str] | None = None) -> int:
    run_args = list(sys.argv[1:] if argv is None else argv) or DEFAULT_RUN
    with tempfile.TemporaryDirectory(prefix="scalpchart-paper-") as tmp:
        config = Path(tmp) / "paper.yaml"
        text = (paths.config_dir() / "brokers" / "paper.yaml").read_text(encoding="utf-8")
        config.write_text(text.replace("~/.cache/scalpchart/kis-paper", str(Path(tmp) / "tokens")),
                          encoding="utf-8")
        with PaperProcess() as paper:
            print(f"paper exchange: {paper.rest_url} {paper.ws_url}", flush=True)
            env = {**PLACEHOLDERS, **os.environ} | {"PYTHONUNBUFFERED": "1"}
            cmd = [sys.executable, "-m", "execution.cli", "run", "--broker", "kis",
                   "--broker-config", str(config), "--kis-url", paper.rest_url,
                   "--kis-ws-url", paper.ws_url, *run_args]
            code = subprocess.call(cmd, env=env)
        print(f"paper exchange stopped (exit {paper.proc.returncode if paper.proc else '?'})")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
