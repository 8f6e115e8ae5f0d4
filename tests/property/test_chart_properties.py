"""Random walks over the compiled product chart stay inside the declared relation.

After every step either the event was rejected and nothing changed, or the step
(old state, event, new state) is a declared transition (or an error route) and
the new state is the one the documented first-enabled rule picks. Finals absorb.
"""

from __future__ import annotations

from typing import Any

from conftest import FlagCtx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statecharts.errors import EventRejected
from statecharts.runtime import ChartRun
from statecharts.spec import ERROR_EVENT, ChartSpec

JUNK_EVENTS = ("bogus", "Start", "escape_now", "error")
FAIL = "<fail>"  # an exception reported from outside the chart (run.fail)
WALK = 30  # longest walk


def declared_relation(spec: ChartSpec) -> set[tuple[str, str, str]]:
    relation = {(t.source, t.event, t.target) for t in spec.transitions}
    for state in spec.state_names:
        route = spec.error_route(state)
        if route is not None:
            relation.add((state, ERROR_EVENT, route))
    return relation


def expected_target(spec: ChartSpec, state: str, event: str, flags: dict[str, bool]) -> str | None:
    """Documented semantics: the first declared transition whose guards hold wins."""
    if event == ERROR_EVENT:
        return spec.error_route(state)
    for t in spec.transitions:
        if (t.source, t.event) == (state, event) and all(flags[g] for g in t.guards) \
                and not any(flags[u] for u in t.unless):
            return t.target
    return None


def any_event(spec: ChartSpec) -> st.SearchStrategy[str]:
    return st.sampled_from([*spec.events, ERROR_EVENT, *JUNK_EVENTS, FAIL])


def next_step(data: st.DataObject, spec: ChartSpec, state: str) -> tuple[str, dict[str, bool]]:
    """Guard flags and an event. In 4 of 5 steps: a declared way out of the state (chosen by
    target, mostly an onward one, so walks get deep), with flags that usually let it win.
    Otherwise: any event (declared, junk or an outside failure) with a few random guards on.
    """
    on = data.draw(st.sets(st.sampled_from(sorted(spec.guards)), max_size=2), label="guards")
    flags = {name: name in on for name in spec.guards}
    declared = [t for t in spec.transitions if t.source == state]
    if not declared or data.draw(st.integers(0, 4), label="wander") == 0:
        return data.draw(any_event(spec), label="event"), flags
    targets = sorted({t.target for t in declared})
    onward = [t for t in targets if t != spec.escape_target and not spec.state(t).final]
    if onward and data.draw(st.integers(0, 3), label="onward") > 0:
        targets = onward
    target = data.draw(st.sampled_from(targets), label="target")
    chosen = data.draw(st.sampled_from([t for t in declared if t.target == target]))
    for earlier in declared[:declared.index(chosen)]:
        if earlier.event == chosen.event:
            flags.update(dict.fromkeys(set(earlier.guards) - set(chosen.guards), False))
    flags.update(dict.fromkeys(chosen.guards, True))
    flags.update(dict.fromkeys(chosen.unless, False))
    return chosen.event, flags


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_walks_follow_the_declared_relation(
        product_spec: ChartSpec, product_chart: type[Any], data: st.DataObject) -> None:
    spec = product_spec
    relation = declared_relation(spec)
    run = ChartRun(product_chart, spec, FlagCtx())
    was_final = False
    for _ in range(data.draw(st.integers(0, WALK), label="length")):
        event, flags = next_step(data, spec, run.state)
        run.ctx.flags = flags
        before, entries = run.state, len(run.trace)
        if event == FAIL:
            after = run.fail(RuntimeError("stage task died"))
            assert run.errors[-1][0] == before
            if spec.error_route(before) is None:  # final: recorded, nowhere to go
                assert after == before and len(run.trace) == entries
                continue
            assert after == spec.error_route(before)
            event = ERROR_EVENT
        else:
            try:
                after = run.dispatch(event)
            except EventRejected as rejected:
                assert rejected.state == before
                assert run.state == before and len(run.trace) == entries
                assert expected_target(spec, before, event, flags) is None
                continue
            assert after == expected_target(spec, before, event, flags)
        assert not was_final, f"left final {before} on {event!r}"
        assert (before, event, after) in relation
        assert run.state == after == run.trace[-1].state
        assert len(run.trace) == entries + 1
        was_final = run.done


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_once_final_always_final(
        product_spec: ChartSpec, product_chart: type[Any], data: st.DataObject) -> None:
    run = ChartRun(product_chart, product_spec, FlagCtx())
    final_at: str | None = None
    for _ in range(data.draw(st.integers(0, WALK), label="length")):
        event, flags = next_step(data, product_spec, run.state)
        run.ctx.flags = flags
        try:
            if event == FAIL:
                run.fail(RuntimeError("late"))
            else:
                run.dispatch(event)
        except EventRejected:
            pass
        if final_at is not None:
            assert run.state == final_at
        elif run.done:
            final_at = run.state
