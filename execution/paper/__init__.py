"""The paper exchange: the simulated KRX exchange behind KIS's protocol, in its own
process (``scalpchart exchange serve``)."""

from execution.paper.faults import PaperFaults, parse_paper_faults
from execution.paper.server import PaperExchange, PaperSettings, build_app

__all__ = ["PaperExchange", "PaperFaults", "PaperSettings", "build_app", "parse_paper_faults"]
