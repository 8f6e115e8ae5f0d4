"""A deterministic simulated KRX exchange implementing the Broker protocol."""

from execution.sim.account import AccountSnapshot, Ledger
from execution.sim.book import BookDepth, BookFill, Level, OrderBook
from execution.sim.exchange import SimulatedExchange
from execution.sim.faults import FaultConfig, parse_faults
from execution.sim.latency import LatencyModel, LatencyProfile
from execution.sim.orders import Accepted, SimConfig
from execution.sim.params import BookParams
from execution.sim.queues import QueueModel
from execution.sim.rules import MarketRules, ViRates
from execution.sim.symbols import SYMBOLS, SymbolSpec, is_listed, lookup

__all__ = [
    "SYMBOLS",
    "Accepted",
    "AccountSnapshot",
    "BookDepth",
    "BookFill",
    "BookParams",
    "FaultConfig",
    "LatencyModel",
    "LatencyProfile",
    "Ledger",
    "Level",
    "MarketRules",
    "OrderBook",
    "QueueModel",
    "SimConfig",
    "SimulatedExchange",
    "SymbolSpec",
    "ViRates",
    "is_listed",
    "lookup",
    "parse_faults",
]
