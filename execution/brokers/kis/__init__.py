"""The KIS (Korea Investment & Securities) Open API adapter: a Broker over REST and the
real-time fill-notice WebSocket. See :mod:`execution.brokers.kis.adapter`."""

from execution.brokers.kis.adapter import KisBroker
from execution.brokers.kis.config import (
    KisConfig,
    KisConfigError,
    KisCredentials,
    load_kis_config,
)

__all__ = ["KisBroker", "KisConfig", "KisConfigError", "KisCredentials", "load_kis_config"]
