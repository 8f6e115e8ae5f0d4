"""Building an execution's result from its context once it has settled.

Every final state carries a reason: the precheck failure, the error that took the error
route, the escape's reason, the fail-safe that fired, or what was filled.
"""

from __future__ import annotations

from execution.context import ExecutionContext
from execution.contracts import ExecutionResult, PathStep
from execution.pricing import slippage_bps


def reason_of(ctx: ExecutionContext) -> str:
    run = ctx.run
    assert run is not None
    if run.errors:
        state, exc = run.errors[-1]
        return f"{type(exc).__name__} in {state}: {exc}"
    if ctx.precheck_failure is not None:
        return f"{ctx.precheck_failure.value}: {ctx.failure_detail}"
    if ctx.escape_reason:
        return ctx.escape_reason
    fail_safes = [a for a in ctx.alerts if a.code.is_fail_safe]
    if fail_safes:
        return fail_safes[-1].message
    filled, qty = ctx.fills.filled_qty, ctx.qty or ctx.intent.qty
    last = run.trace[-1]
    if filled >= qty:
        return f"filled {filled}/{qty}"
    ended = [c for c in ctx.children if c.status.value in ("CANCELLED", "EXPIRED")]
    detail = f"; {len(ended)} order(s) ended by the broker" if ended else ""
    return f"{last.state} after {last.event or 'start'} from {last.source}: " \
           f"filled {filled}/{qty}{detail}"


def build_result(ctx: ExecutionContext) -> ExecutionResult:
    run = ctx.run
    assert run is not None
    avg = ctx.fills.avg_price
    slip = None
    if avg is not None and ctx.arrival_price:
        slip = float(slippage_bps(ctx.intent.side, avg, ctx.arrival_price))
    return ExecutionResult(
        execution_id=ctx.id,
        intent=ctx.intent,
        final_state=run.state,
        path=[PathStep(s.state, s.event, s.at_ns) for s in run.trace],
        children=list(ctx.children),
        fills=list(ctx.fills.fills),
        filled_qty=ctx.fills.filled_qty,
        avg_price=avg,
        arrival_price=ctx.arrival_price,
        slippage_bps=slip,
        alerts=list(ctx.alerts),
        stage_latency_us=run.time_in_state_us(),
        reason=reason_of(ctx),
        fees=ctx.fills.fees,
        qty=ctx.qty,
        precheck_failure=ctx.precheck_failure.value if ctx.precheck_failure else None,
        adjust_rounds=ctx.adjust_rounds,
        liquidated_qty=ctx.liquidated_qty,
        stage_busy_us=run.busy_us(),
        trace=[s.to_json() for s in run.trace],
        unconfirmed=list(ctx.unconfirmed),
        rejected_fills=list(ctx.rejected_fills),
        version=ctx.version,
    )
