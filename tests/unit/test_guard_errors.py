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
    registry = _registry_with_raising_guard(product_spec, "p0_overflow")
    chart = compile_chart(product_spec, registry)
    ctx = FlagCtx()
    ctx.script["precheck"] = lambda c, r: "checked"
    run = ChartRun(chart, product_spec, ctx)
    run.dispatch("start")
    assert "split" not in ctx.entries  # SPLITTING was entered but its stage never ran
    assert run.state == product_spec.error_route("SPLITTING")
    [(state, error)] = run.errors
    assert state == "PRECHECK" and "p0_overflow is broken" in str(error)


def test_raising_guard_before_a_final_target_still_finishes(product_spec: ChartSpec) -> None:
    registry = _registry_with_raising_guard(product_spec, "symbol_unknown")
    chart = compile_chart(product_spec, registry)
    ctx = FlagCtx(flags={"precheck_blocked": True})
    ctx.script["precheck"] = lambda c, r: "checked"
    finished: list[str] = []
    run = ChartRun(chart, product_spec, ctx, on_final=lambda r: finished.append(r.state))
    run.dispatch("start")
    assert run.state == "FAILED" and finished == ["FAILED"]
    assert ctx.entries[-1] == "finish"  # the final state's clean-up ran
    assert len(run.errors) == 1
