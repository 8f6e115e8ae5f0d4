"""A deterministic simulated KRX exchange implementing the Broker protocol."""

from execution.sim.account import AccountSnapshot, Ledger
from execution.sim.book import BookDepth, BookFill, BookParams, Level, OrderBook
from execution.sim.exchange import SimConfig, SimulatedExchange
from execution.sim.faults import FaultConfig, parse_faults
from execution.sim.symbols import SYMBOLS, SymbolSpec, is_listed, lookup

__all__ = [
    "SYMBOLS",
    "AccountSnapshot",
    "BookDepth",
    "BookFill",
    "BookParams",
    "FaultConfig",
    "Ledger",
    "Level",
    "OrderBook",
    "SimConfig",
    "SimulatedExchange",
    "SymbolSpec",
    "is_listed",
    "lookup",
    "parse_faults",
]
