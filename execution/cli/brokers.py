"""The ``--broker`` choice of ``scalpchart run``: the built-in simulator or KIS.

``--broker kis`` reads ``--broker-config`` (default ``config/brokers/kis.yaml``), the
secrets from the environment (``KIS_APP_KEY``, ``KIS_APP_SECRET``, ``KIS_HTS_ID``),
and points the adapter at ``--kis-url``/``--kis-ws-url`` when given (the paper
exchange). Real-money mode is refused without ``--i-mean-real-money``.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from execution.broker import Broker
from execution.cli.common import UsageError
from execution.market_session import KrxSessions


def add_broker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", choices=("sim", "kis"), default="sim",
                   help="sim: the built-in simulated exchange (default); kis: the KIS Open "
                        "API adapter (secrets from KIS_APP_KEY, KIS_APP_SECRET, KIS_HTS_ID)")
    p.add_argument("--broker-config", type=Path,
                   help="KIS configuration YAML (default: config/brokers/kis.yaml)")
    p.add_argument("--kis-url", help="REST base URL (e.g. the paper exchange's http://...)")
    p.add_argument("--kis-ws-url", help="real-time URL (e.g. ws://127.0.0.1:PORT/tryitout)")
    p.add_argument("--i-mean-real-money", action="store_true",
                   help="allow orders in the configuration's real mode")


def make_kis_broker(args: argparse.Namespace) -> Any:
    """The KIS adapter for ``args`` (not yet connected); UsageError for what is missing."""
    from execution.brokers.kis import KisBroker, KisConfigError, KisCredentials, load_kis_config

    _only_for(args, "sim", _sim_options(args))
    try:
        config = load_kis_config(args.broker_config)
        config = config.with_urls(args.kis_url, args.kis_ws_url)
        creds = KisCredentials.from_env()
    except KisConfigError as err:
        raise UsageError(str(err)) from None
    except OSError as err:
        raise UsageError(f"{args.broker_config or 'config/brokers/kis.yaml'}: cannot read: "
                         f"{err.strerror or err}") from None
    if config.is_real:
        if not args.i_mean_real_money:
            raise UsageError(f"{config.source} is in real mode (real money): add "
                             "--i-mean-real-money to place orders, or use mode: virtual")
        from dataclasses import replace

        config = replace(config, allow_real_orders=True)
    return KisBroker(config, creds)


def _sim_options(args: argparse.Namespace) -> list[str]:
    used = [flag for name, flag in (("at", "--at"), ("broker_faults", "--broker-faults"),
                                     ("cash", "--cash"))
            if getattr(args, name, None) is not None]
    if getattr(args, "market_closed", False):
        used.append("--market-closed")
    if getattr(args, "clock", "real") == "virtual":
        used.append("--clock virtual (KIS runs in real time)")
    return used


def _kis_options(args: argparse.Namespace) -> list[str]:
    return [flag for name, flag in (("broker_config", "--broker-config"),
                                     ("kis_url", "--kis-url"), ("kis_ws_url", "--kis-ws-url"))
            if getattr(args, name, None) is not None] + (
        ["--i-mean-real-money"] if getattr(args, "i_mean_real_money", False) else [])


def _only_for(args: argparse.Namespace, broker: str, used: list[str]) -> None:
    if used:
        raise UsageError(f"{', '.join(used)}: only with --broker {broker}")


def make_broker(args: argparse.Namespace, sessions: KrxSessions, start: datetime,
                time_source: Any) -> Any:
    """The broker ``run`` trades with: an async context manager that is a Broker."""
    if args.broker == "kis":
        return make_kis_broker(args)
    from execution.sim import SimulatedExchange

    _only_for(args, "kis", _kis_options(args))
    return SimulatedExchange(seed=args.seed, start_ns=int(start.timestamp() * 1e9),
                             time_source=time_source, is_open=sessions.is_open,
                             faults=args.broker_faults, cash_krw=getattr(args, "cash", None))


async def prepare(broker: Broker, symbol: str) -> None:
    """Whatever the broker needs before an intent on ``symbol`` (KIS: watch its quote)."""
    watch = getattr(broker, "watch", None)
    if watch is not None:
        await watch(symbol)
