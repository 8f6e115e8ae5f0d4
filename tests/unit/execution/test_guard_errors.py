"""A guard that raises never lets the next stage run: the run takes its error route."""

from __future__ import annotations

from typing import Any

from statecharts.compiler import compile_chart
from statecharts.registry import Registry
from statecharts.runtime import ChartRun
from statecharts.spec import ChartSpec
from tests.conftest import FlagCtx, build_flag_registry


def _registry_with_raising_guard(spec: ChartSpec, guard: str) -> Registry:
    registry = build_flag_registry(spec, name=f"raising-{guard}")

    def broken(ctx: Any) -> bool:
        raise RuntimeError(f"{guard} is broken")

    registry.guards[guard] = broken
    return registry


def test_raising_guard_routes_to_error_without_running_the_next_stage(
        product_spec: ChartSpec) -> None:
    registry = _registry_with_raising_guard(product_spec, "qty_reduced")
    chart = compile_chart(product_spec, registry)
    ctx = FlagCtx()
    ctx.script["precheck"] = lambda c, r: "checked"
    run = ChartRun(chart, product_spec, ctx)
    run.dispatch("start")
    assert "split" not in ctx.entries
    assert run.state == product_spec.error_route("PRECHECK")
    state, error = run.errors[0]
    assert state == "PRECHECK" and "qty_reduced is broken" in str(error)


def test_raising_guard_never_runs_the_stage_it_would_skip_to(product_spec: ChartSpec) -> None:
    """The library falls through to the next transition: its target's stage must not run."""
    registry = _registry_with_raising_guard(product_spec, "balance_short")
    chart = compile_chart(product_spec, registry)
    ctx = FlagCtx(flags={"all_sends_failed": False})
    ctx.script["precheck"] = lambda c, r: "checked"
    ctx.script["split"] = lambda c, r: "split"
    ctx.script["send"] = lambda c, r: "sent"
    run = ChartRun(chart, product_spec, ctx)
    run.dispatch("start")
    assert "monitor" not in ctx.entries
    assert run.state == product_spec.error_route("MONITORING")
    assert "balance_short is broken" in str(run.errors[0][1])


def test_raising_guard_takes_the_error_route_even_when_a_later_guard_holds(
        product_spec: ChartSpec) -> None:
    registry = _registry_with_raising_guard(product_spec, "symbol_unknown")
    chart = compile_chart(product_spec, registry)
    ctx = FlagCtx(flags={"precheck_blocked": True})
    ctx.script["precheck"] = lambda c, r: "checked"
    run = ChartRun(chart, product_spec, ctx)
    run.dispatch("start")
    assert run.state == product_spec.error_route("PRECHECK")
    assert len(run.errors) == 1  # routed once, although the event had more transitions


def test_raising_guard_before_an_unguarded_final_fallback_still_finishes(
        product_spec: ChartSpec) -> None:
    """MONITORING timeout: a raising fill_timeout_partial, then the unguarded fallback."""
    registry = _registry_with_raising_guard(product_spec, "fill_timeout_partial")
    chart = compile_chart(product_spec, registry)
    ctx = FlagCtx(flags={"rounds_left": True})
    for handler, event in (("precheck", "checked"), ("split", "split"), ("send", "sent")):
        ctx.script[handler] = (lambda e: lambda c, r: e)(event)
    run = ChartRun(chart, product_spec, ctx)
    run.dispatch("start")
    assert run.state == "MONITORING"
    run.dispatch("timeout")
    assert "adjust" not in ctx.entries  # ADJUSTING (the fallback) was entered, never run
    assert run.state == product_spec.error_route("ADJUSTING")
    assert len(run.errors) == 1
