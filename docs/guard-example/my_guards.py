"""A guard of your own: registered on import, named in your chart's YAML.

Load it with ``scalpchart --plugin docs/guard-example/my_guards.py ...`` (or a module
name on the Python path), or from your own package's entry points (group
``scalpchart.guards``).
"""

from execution.context import ExecutionContext
from execution.guards import guard

MIN_SHARES = 10


@guard("tiny_order")
def tiny_order(ctx: ExecutionContext) -> bool:
    """Fewer than MIN_SHARES shares: not worth the fees; refused at PreCheck."""
    return ctx.intent.qty < MIN_SHARES
