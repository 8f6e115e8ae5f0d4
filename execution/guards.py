"""The guard predicates the chart names, and the registry of stage handlers.

Guards only read the :class:`ExecutionContext`; the YAML says which
transition each one guards and which FS/GR code it carries.
"""

from __future__ import annotations

from collections.abc import Callable

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


#: guards true when PreCheck refused the intent for these reasons (one guard a kind of
#: refusal, so that the chart gives each its own transition and code)
PRECHECK_REFUSALS: dict[str, tuple[PrecheckFailure, ...]] = {
    "p0_overflow": (PrecheckFailure.P0_OVERFLOW,),
    "daily_limit_reached": (PrecheckFailure.DAILY_LIMIT,),
    "no_capital": (PrecheckFailure.NO_CAPITAL,),
    "self_trade_refused": (PrecheckFailure.SELF_TRADE,),
    # outside the session (closed, or the opening auction) is a session-phase refusal too
    "session_phase_refused": (PrecheckFailure.SESSION_PHASE, PrecheckFailure.MARKET_CLOSED),
    "price_limit_refused": (PrecheckFailure.PRICE_LIMIT,),
}


def _refused_for(name: str,
                 failures: tuple[PrecheckFailure, ...]) -> Callable[[ExecutionContext], bool]:
    def refused(ctx: ExecutionContext) -> bool:
        return ctx.precheck_failure in failures

    refused.__name__ = refused.__qualname__ = name
    return refused


for _guard_name, _failures in PRECHECK_REFUSALS.items():
    guard(_guard_name)(_refused_for(_guard_name, _failures))


@guard("symbol_unknown")
def symbol_unknown(ctx: ExecutionContext) -> bool:
    return ctx.symbol_unknown


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
