"""Child-order operations: the one place that sends, releases, re-prices, cancels, books
fills, asks the broker and decides "settled". Stages call these; they never duplicate
them, and never import each other.

Layering inside the package (each module imports only those before it): ``status``,
``positions``, ``fills``, ``confirm``, ``reprice``, ``sending``, ``cancelling``,
``settle``, ``polling``.
"""
