"""Running the paper exchange: bind, announce, serve until SIGTERM/SIGINT, stop cleanly.

The first line on stdout, flushed at once, is ``listening on http://HOST:PORT
ws://HOST:PORT/tryitout`` (with the port actually bound, so ``--port 0`` works).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from typing import TextIO

from aiohttp import web

from execution.paper.contract import WS_PATH
from execution.paper.server import PaperExchange, PaperSettings, build_app


@contextlib.asynccontextmanager
async def running(settings: PaperSettings, host: str = "127.0.0.1",
                  port: int = 0) -> AsyncIterator[tuple[PaperExchange, str]]:
    """A paper exchange listening on ``host:port`` (0: a free port) for the ``async
    with`` block: yields it and its base URL (``http://HOST:PORT``); stopped after."""
    exchange = PaperExchange(settings)
    runner = web.AppRunner(build_app(exchange), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        yield exchange, f"http://{host}:{runner.addresses[0][1]}"
    finally:
        exchange.stop()
        await runner.cleanup()


async def serve(settings: PaperSettings, host: str = "127.0.0.1", port: int = 0,
                out: TextIO | None = None, stop: asyncio.Event | None = None) -> None:
    out = out or sys.stdout
    async with running(settings, host, port) as (_, url):
        out.write(f"listening on {url} ws://{url.removeprefix('http://')}{WS_PATH}\n")
        out.flush()
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
