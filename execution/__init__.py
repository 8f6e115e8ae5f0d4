"""The trading domain: contracts, the six stage handlers, guards, broker, engine, CLI."""
