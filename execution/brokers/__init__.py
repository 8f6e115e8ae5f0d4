"""Broker implementations and what they share (the order-table core)."""
