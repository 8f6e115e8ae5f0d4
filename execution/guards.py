"""The guard predicates the chart names, and the registry of stage handlers.

Guards only read the :class:`ExecutionContext`; the YAML says which
transition each one guards and which FS/GR code it carries.
"""

from __future__ import annotations

from execution.context import AdjustOutcome, ExecutionContext, PrecheckFailure
from execution.stages import adjust, escape, finish, monitor, precheck, send, split
from statecharts.registry import Handler, Registry, RunView

REGISTRY = Registry("scalp_execution", start_event="start")  # the engine starts runs so
guard = REGISTRY.guard


def journaled(handler: Handler) -> Handler:
    """The stage handler, entered after the transition into its state is journaled; the
    child orders it planned are journaled as soon as it returns (ahead of their sends)."""
    def enter(ctx: ExecutionContext, run: RunView) -> str | None:
        step = run.trace[-1]
        journal = ctx.services.journal
        journal.transition(ctx.id, step.source, step.event, step.state, step.guard)
        event = handler(ctx, run)
        if ctx.children:
            journal.planned(ctx.id, ctx.intent, ctx.children)
        return event

    enter.__name__ = enter.__qualname__ = getattr(handler, "__name__", "handler")
    return enter


for _stage in (precheck, split, send, monitor, adjust, escape, finish):
    _name = _stage.__name__.rsplit(".", 1)[-1]
    REGISTRY.handler(_name, emits=_stage.EMITS)(journaled(getattr(_stage, _name)))


def _failed(ctx: ExecutionContext, failure: PrecheckFailure) -> bool:
    return ctx.precheck_failure is failure


@guard("p0_overflow")
def p0_overflow(ctx: ExecutionContext) -> bool:
    return _failed(ctx, PrecheckFailure.P0_OVERFLOW)


@guard("symbol_unknown")
def symbol_unknown(ctx: ExecutionContext) -> bool:
    return ctx.symbol_unknown


@guard("daily_limit_reached")
def daily_limit_reached(ctx: ExecutionContext) -> bool:
    return _failed(ctx, PrecheckFailure.DAILY_LIMIT)


@guard("no_capital")
def no_capital(ctx: ExecutionContext) -> bool:
    return _failed(ctx, PrecheckFailure.NO_CAPITAL)


@guard("self_trade_refused")
def self_trade_refused(ctx: ExecutionContext) -> bool:
    return _failed(ctx, PrecheckFailure.SELF_TRADE)


@guard("session_phase_refused")
def session_phase_refused(ctx: ExecutionContext) -> bool:
    return _failed(ctx, PrecheckFailure.SESSION_PHASE)


@guard("price_limit_refused")
def price_limit_refused(ctx: ExecutionContext) -> bool:
    return _failed(ctx, PrecheckFailure.PRICE_LIMIT)


@guard("precheck_blocked")
def precheck_blocked(ctx: ExecutionContext) -> bool:
    return ctx.precheck_failure is not None


@guard("qty_reduced")
def qty_reduced(ctx: ExecutionContext) -> bool:
    return 0 < ctx.qty < ctx.intent.qty


@guard("split_empty")
def split_empty(ctx: ExecutionContext) -> bool:
    return not ctx.children


@guard("children_capped")
def children_capped(ctx: ExecutionContext) -> bool:
    return ctx.plan is not None and ctx.plan.capped


@guard("all_sends_failed")
def all_sends_failed(ctx: ExecutionContext) -> bool:
    return ctx.sent_ok == 0


@guard("balance_short")
def balance_short(ctx: ExecutionContext) -> bool:
    return ctx.balance_short


@guard("nothing_filled")
def nothing_filled(ctx: ExecutionContext) -> bool:
    return ctx.fills.filled_qty == 0


@guard("rounds_left")
def rounds_left(ctx: ExecutionContext) -> bool:
    return ctx.adjust_rounds < ctx.limits.max_rounds


@guard("fill_delayed")
def fill_delayed(ctx: ExecutionContext) -> bool:
    """Children waited past the fill-delay warning for their first fill, not yet warned."""
    return bool(ctx.delay_pending)


@guard("fill_timeout_partial")
def fill_timeout_partial(ctx: ExecutionContext) -> bool:
    return ctx.fills.filled_qty > 0


@guard("fill_timeout_unfilled")
def fill_timeout_unfilled(ctx: ExecutionContext) -> bool:
    return ctx.adjust_outcome is AdjustOutcome.EXHAUSTED and ctx.fills.filled_qty == 0


@guard("slippage_breach")
def slippage_breach(ctx: ExecutionContext) -> bool:
    return ctx.adjust_outcome is AdjustOutcome.BREACH


@guard("adjust_capped")
def adjust_capped(ctx: ExecutionContext) -> bool:
    return ctx.adjust_outcome is AdjustOutcome.CAPPED


@guard("escape_executed")
def escape_executed(ctx: ExecutionContext) -> bool:
    return ctx.escape_done
