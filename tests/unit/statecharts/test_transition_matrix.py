"""The product chart's transition table, generated from config/scalp_execution.yaml.

Nothing here lists states or transitions by hand: every case is derived from the
loaded spec, so an edit to the YAML is tested by the same rules. A small oracle
(:func:`first_enabled`) states the documented semantics — per (state, event) the
first declared transition whose guards hold and whose ``unless`` names do not —
and the compiled chart must agree with it.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from conftest import PRODUCT_CHART, FakeScheduler, FlagCtx

from statecharts.errors import EventRejected
from statecharts.limits import Limits
from statecharts.loader import load_chart
from statecharts.matrix import build_matrix
from statecharts.runtime import ChartRun
from statecharts.spec import ERROR_EVENT, ChartSpec, TransitionSpec

SPEC = load_chart(PRODUCT_CHART)
JUNK_EVENTS = ("bogus", "Start", "error", "ESCAPE")
ALL_EVENTS = (*SPEC.events, ERROR_EVENT)
NON_FINAL = tuple(s.name for s in SPEC.states if not s.final)
WITH_ENTRY = tuple(s.name for s in SPEC.states if not s.final and s.entry)
WITH_TIMEOUT = tuple(s.name for s in SPEC.states if s.timeout)

Flags = dict[str, bool]
NewRun = Callable[..., ChartRun]


# -- the oracle --------------------------------------------------------------------------
def candidates(spec: ChartSpec, state: str, event: str) -> list[TransitionSpec]:
    return [t for t in spec.transitions if t.source == state and t.event == event]


def first_enabled(spec: ChartSpec, state: str, event: str, flags: Flags) -> TransitionSpec | None:
    for t in candidates(spec, state, event):
        if all(flags.get(g, False) for g in t.guards) and not any(
                flags.get(u, False) for u in t.unless):
            return t
    return None


def enabling_flags(spec: ChartSpec, transition: TransitionSpec) -> Flags | None:
    """Flags that make ``transition`` the first enabled one, or None if it is shadowed."""
    flags = dict.fromkeys(spec.guards, False)
    flags.update(dict.fromkeys(transition.guards, True))
    fixed = {*transition.guards, *transition.unless}
    for _ in range(len(spec.guards) + 1):
        winner = first_enabled(spec, transition.source, transition.event, flags)
        if winner is transition:
            return flags
        # An earlier transition wins although every other guard is False: only one of its
        # ``unless`` names (not fixed by this transition) can still switch it off.
        free = [u for u in winner.unless if u not in fixed] if winner else []
        if not free:
            return None
        flags[free[0]] = True
        fixed.add(free[0])
    return None


@cache
def path_to(state: str) -> tuple[TransitionSpec, ...]:
    """A shortest sequence of fireable transitions from the initial state to ``state``."""
    paths: dict[str, tuple[TransitionSpec, ...]] = {SPEC.initial: ()}
    queue = deque([SPEC.initial])
    while queue:
        current = queue.popleft()
        for t in SPEC.transitions:
            if t.source == current and t.target not in paths and enabling_flags(SPEC, t):
                paths[t.target] = (*paths[current], t)
                queue.append(t.target)
    if state not in paths:
        raise AssertionError(f"{state} cannot be reached by firing declared transitions")
    return paths[state]


def fireable_from(state: str) -> list[TransitionSpec]:
    return [t for t in SPEC.transitions if t.source == state and enabling_flags(SPEC, t)]


@cache
def cycle_through(state: str) -> tuple[TransitionSpec, ...]:
    """A shortest non-empty sequence of fireable transitions from ``state`` back to it."""
    paths = {t.target: (t,) for t in reversed(fireable_from(state))}
    queue = deque(paths)
    while queue:
        current = queue.popleft()
        if current == state:
            return paths[state]
        for t in fireable_from(current):
            if t.target not in paths:
                paths[t.target] = (*paths[current], t)
                queue.append(t.target)
    return ()


def walk(run: ChartRun, steps: tuple[TransitionSpec, ...]) -> ChartRun:
    for t in steps:
        run.ctx.flags = enabling_flags(SPEC, t)
        assert run.dispatch(t.event) == t.target, f"walking {t}"
    run.ctx.flags = {}
    return run


def run_in(new_run: NewRun, state: str, **kwargs: Any) -> ChartRun:
    run = walk(new_run(**kwargs), path_to(state))
    assert run.state == state
    return run


def assert_rejected(run: ChartRun, event: str) -> None:
    before, steps = run.state, len(run.trace)
    with pytest.raises(EventRejected) as info:
        run.dispatch(event)
    assert (info.value.state, info.value.event) == (before, event)
    assert run.state == before
    assert len(run.trace) == steps


def transition_id(t: TransitionSpec) -> str:
    guard = f"[{t.label}]" if t.label else ""
    return f"{t.source}-{t.event}->{t.target}{guard}"


def timeouts_ms(spec: ChartSpec, limits: Limits) -> dict[str, float]:
    return {s.name: limits.get(s.timeout.after) for s in spec.states if s.timeout}


# -- the spec itself -----------------------------------------------------------------------
def test_spec_is_the_one_the_fixture_loads(product_spec: ChartSpec) -> None:
    assert product_spec == SPEC
    assert len(SPEC.transitions) > 20  # the generated cases below are not vacuous


@pytest.mark.parametrize("transition", SPEC.transitions, ids=transition_id)
def test_no_declared_transition_is_shadowed(transition: TransitionSpec) -> None:
    assert enabling_flags(SPEC, transition) is not None


@pytest.mark.parametrize("state", SPEC.state_names)
def test_every_state_is_reachable_by_firing_transitions(state: str) -> None:
    steps = path_to(state)
    assert [t.target for t in steps][-1:] == ([state] if steps else [])


# -- every declared transition -------------------------------------------------------------
@pytest.mark.parametrize("transition", SPEC.transitions, ids=transition_id)
def test_declared_transition_fires_when_it_is_the_first_enabled(
        new_run: NewRun, transition: TransitionSpec) -> None:
    run = run_in(new_run, transition.source)
    run.ctx.flags = enabling_flags(SPEC, transition)
    assert run.dispatch(transition.event) == transition.target
    last = run.trace[-1]
    assert (last.source, last.event, last.state) == (
        transition.source, transition.event, transition.target)


GUARDED = [t for t in SPEC.transitions if t.guarded]


@pytest.mark.parametrize("transition", GUARDED, ids=transition_id)
def test_guarded_transition_does_not_fire_without_its_guards(
        new_run: NewRun, transition: TransitionSpec) -> None:
    enabling = enabling_flags(SPEC, transition)
    assert enabling is not None
    # every flag false disables a transition with a positive guard (an unless-only one
    # is enabled then: it is disabled by one of its unless flags, below)
    variants: list[Flags] = [{}] if transition.guards else []
    variants += [{**enabling, g: False} for g in transition.guards]
    variants += [{**enabling, u: True} for u in transition.unless]
    for flags in variants:
        run = run_in(new_run, transition.source)
        run.ctx.flags = flags
        fallback = first_enabled(SPEC, transition.source, transition.event, flags)
        assert fallback is not transition
        if fallback is None:
            assert_rejected(run, transition.event)
        else:
            assert run.dispatch(transition.event) == fallback.target


def test_guarded_cases_include_rejections_and_fallbacks() -> None:
    """Both branches of the test above are exercised by the product chart."""
    outcomes = {first_enabled(SPEC, t.source, t.event, {}) is None for t in GUARDED}
    assert outcomes == {True, False}


UNDECLARED = [(s, e) for s in SPEC.state_names for e in ALL_EVENTS
              if not candidates(SPEC, s, e) and not (e == ERROR_EVENT and s in NON_FINAL)]


@pytest.mark.parametrize(("state", "event"), UNDECLARED, ids=lambda v: str(v))
def test_undeclared_pair_is_rejected_and_the_state_kept(
        new_run: NewRun, product_chart: type[Any], state: str, event: str) -> None:
    assert build_matrix(product_chart, SPEC).targets(state, event) == ()
    run = run_in(new_run, state)
    run.ctx.flags = dict.fromkeys(SPEC.guards, True)  # no guard can open an undeclared pair
    assert_rejected(run, event)


@pytest.mark.parametrize("state", SPEC.state_names)
def test_junk_events_are_rejected(new_run: NewRun, state: str) -> None:
    run = run_in(new_run, state)
    for event in JUNK_EVENTS:
        assert_rejected(run, event)


# -- escape, finals, errors ----------------------------------------------------------------
@pytest.mark.parametrize("state", [s for s in NON_FINAL if s != SPEC.escape_target])
def test_escape_works_from_every_working_state(new_run: NewRun, state: str) -> None:
    run = run_in(new_run, state)
    assert run.dispatch(SPEC.escape_event) == SPEC.escape_target


def test_escape_does_not_run_twice(new_run: NewRun) -> None:
    run = run_in(new_run, SPEC.escape_target)
    run.ctx.flags = dict.fromkeys(SPEC.guards, True)
    assert_rejected(run, SPEC.escape_event)


@pytest.mark.parametrize("state", SPEC.final_states)
def test_final_states_are_absorbing(new_run: NewRun, state: str) -> None:
    run = run_in(new_run, state)
    assert run.done
    run.ctx.flags = dict.fromkeys(SPEC.guards, True)
    for event in (*ALL_EVENTS, *JUNK_EVENTS):
        assert_rejected(run, event)
    error = RuntimeError("late stage failure")
    assert run.fail(error) == state
    assert run.errors[-1] == (state, error)


@pytest.mark.parametrize("state", WITH_ENTRY)
def test_handler_that_raises_ends_in_the_error_route(new_run: NewRun, state: str) -> None:
    *before, last = path_to(state)
    run = walk(new_run(), tuple(before))
    error = ValueError(f"{state} handler broke")

    def explode(ctx: FlagCtx, run: ChartRun) -> str | None:
        raise error

    run.ctx.script[SPEC.state(state).entry] = explode
    run.ctx.flags = enabling_flags(SPEC, last)
    route = SPEC.error_route(state)
    assert route == (SPEC.state(state).on_error or SPEC.error_target)
    assert run.dispatch(last.event) == route
    assert run.path()[-2:] == [state, route]
    assert run.trace[-1].event == ERROR_EVENT
    assert [(s, e) for s, e in run.errors if e is error] == [(state, error)]


def test_error_routes_are_escaping_then_escaped() -> None:
    routes = {state: SPEC.error_route(state) for state in NON_FINAL}
    assert routes.pop(SPEC.escape_target) not in NON_FINAL
    assert set(routes.values()) == {SPEC.escape_target}


@pytest.mark.parametrize("state", WITH_ENTRY)
def test_handler_returning_an_untaken_event_ends_in_the_error_route(
        new_run: NewRun, state: str) -> None:
    *before, last = path_to(state)
    run = walk(new_run(), tuple(before))
    run.ctx.script[SPEC.state(state).entry] = lambda ctx, run: "no_such_event"
    run.ctx.flags = enabling_flags(SPEC, last)
    assert run.dispatch(last.event) == SPEC.error_route(state)
    (where, error), = run.errors
    assert where == state
    assert isinstance(error, EventRejected) and error.event == "no_such_event"


def test_handler_returning_a_declared_event_moves_on(new_run: NewRun) -> None:
    """The positive control for the test above: a returned event is taken within the dispatch."""
    (first,) = candidates(SPEC, SPEC.initial, "start")
    second = first_enabled(SPEC, first.target, "checked", {})
    assert second is not None
    run = new_run()
    run.ctx.script[SPEC.state(first.target).entry] = lambda ctx, run: second.event
    assert run.dispatch(first.event) == second.target
    assert run.path() == [SPEC.initial, first.target, second.target]
    assert run.errors == []


@pytest.mark.parametrize("state", NON_FINAL)
def test_fail_routes_an_outside_exception_like_a_handler_error(new_run: NewRun, state: str) -> None:
    run = run_in(new_run, state)
    error = ConnectionError("broker went away")
    assert run.fail(error) == SPEC.error_route(state)
    assert run.errors[0] == (state, error)


REENTERABLE = [state for state in WITH_TIMEOUT if cycle_through(state)]


# -- stage timeouts ------------------------------------------------------------------------
def timed_run(new_run: NewRun, state: str, limits: Limits) -> tuple[ChartRun, FakeScheduler]:
    scheduler = FakeScheduler()
    run = run_in(new_run, state, scheduler=scheduler, timeouts_ms=timeouts_ms(SPEC, limits))
    return run, scheduler


@pytest.mark.parametrize("state", WITH_TIMEOUT)
def test_stage_timeout_fires_the_declared_timeout_transition(
        new_run: NewRun, product_limits: Limits, state: str) -> None:
    codes: list[tuple[str, str]] = []
    scheduler = FakeScheduler()
    run = run_in(new_run, state, scheduler=scheduler, timeouts_ms=timeouts_ms(SPEC, product_limits),
                 on_code=lambda code, guard: codes.append((code, guard)))
    codes.clear()  # (the walk there may have raised some)
    (timer,) = scheduler.live
    assert timer.delay == product_limits.get(SPEC.state(state).timeout.after) / 1000
    expected = first_enabled(SPEC, state, SPEC.timeout_event, {})
    assert expected is not None
    timer.fire()
    assert run.state == expected.target
    assert run.trace[-1].event == SPEC.timeout_event
    # the codes it carries are raised: its guards', or the state timeout's own
    assert [c for c, _ in codes] == list(SPEC.codes_of(expected))
    if expected.code:
        assert codes[-1] == (expected.code, SPEC.timeout_event)


def test_every_timeout_into_a_final_state_but_success_carries_a_code() -> None:
    """The law: every final state has its code. A timeout that ends an execution (FAILED,
    ESCAPED) names its own, where no guard of it does."""
    for t in SPEC.transitions:
        target = SPEC.state(t.target)
        if t.event == SPEC.timeout_event and target.final and target.role != "success":
            assert SPEC.codes_of(t), f"{t.source} --timeout--> {t.target} carries no code"


def test_extend_timeout_pushes_the_armed_timer_back_and_later_entries_too(
        new_run: NewRun, product_limits: Limits) -> None:
    run, scheduler = timed_run(new_run, "MONITORING", product_limits)
    (timer,) = scheduler.live
    full = timer.delay
    scheduler.now = 10.0  # 10 s into the state, then a 5 s pause
    run.extend_timeout(5_000)
    assert timer.cancelled
    (rearmed,) = scheduler.live
    assert rearmed.delay == pytest.approx(full - 10.0 + 5.0)
    assert run.timeouts_ms["MONITORING"] == full * 1000 + 5_000
    rearmed.fire()
    assert run.state != "MONITORING"


def test_precheck_timeout_fails(new_run: NewRun, product_limits: Limits) -> None:
    run, scheduler = timed_run(new_run, "PRECHECK", product_limits)
    scheduler.live[0].fire()
    assert run.state == "FAILED"
    assert scheduler.live == []  # a final state arms nothing


@pytest.mark.parametrize(("partial", "target"), [(False, "ADJUSTING"), (True, "COMPLETE")])
def test_monitoring_timeout_depends_on_partial_fills(
        new_run: NewRun, product_limits: Limits, partial: bool, target: str) -> None:
    run, scheduler = timed_run(new_run, "MONITORING", product_limits)
    run.ctx.flags = {"fill_timeout_partial": partial}
    scheduler.live[-1].fire()
    assert run.state == target


def test_stale_timer_does_nothing(new_run: NewRun, product_limits: Limits) -> None:
    run, scheduler = timed_run(new_run, "PRECHECK", product_limits)
    (stale,) = scheduler.live
    run.dispatch("checked")
    assert run.state == "SPLITTING"
    assert stale.cancelled
    steps = len(run.trace)
    stale.fire()  # a loop may still deliver a callback that was cancelled too late
    assert run.state == "SPLITTING"
    assert len(run.trace) == steps
    assert run.errors == []


@pytest.mark.parametrize("state", REENTERABLE)
def test_reentry_rearms_the_timer_and_makes_the_earlier_one_stale(
        new_run: NewRun, product_limits: Limits, state: str) -> None:
    timeout = SPEC.state(state).timeout
    assert timeout is not None
    limit_s = product_limits.get(timeout.after) / 1000
    run, scheduler = timed_run(new_run, state, product_limits)
    first_visit = scheduler.live[-1]
    assert first_visit.delay == limit_s
    away_s = limit_s / 4
    scheduler.now += away_s
    walk(run, cycle_through(state))
    assert first_visit.cancelled
    rearmed = scheduler.live[-1]
    # "since: first_entry" keeps the clock of the first visit; the default restarts it
    expected_delay = limit_s - away_s if timeout.since == "first_entry" else limit_s
    assert rearmed.delay == pytest.approx(expected_delay)
    first_visit.fire()
    assert run.state == state
    rearmed.fire()
    expected = first_enabled(SPEC, state, SPEC.timeout_event, {})
    assert expected is not None and run.state == expected.target


# -- the matrix ----------------------------------------------------------------------------
def test_matrix_agrees_with_the_declared_transitions(product_chart: type[Any]) -> None:
    matrix = build_matrix(product_chart, SPEC)
    for state in SPEC.state_names:
        for event in SPEC.events:
            declared = [(t.target, t.label or None) for t in candidates(SPEC, state, event)]
            cells = [(c.target, c.guard) for c in matrix.targets(state, event)]
            assert cells == declared, f"{state} {event}"
        route = SPEC.error_route(state)
        expected_error = [(route, None)] if route else []
        assert [(c.target, c.guard) for c in matrix.targets(state, ERROR_EVENT)] == expected_error


def test_matrix_json_shape(product_chart: type[Any]) -> None:
    data = json.loads(json.dumps(build_matrix(product_chart, SPEC).to_json()))
    assert set(data) == {"states", "events", "cells"}
    assert data["states"] == list(SPEC.state_names)
    assert data["events"] == list(ALL_EVENTS)
    assert list(data["cells"]) == data["states"]
    for state, row in data["cells"].items():
        assert list(row) == data["events"], state
        for cells in row.values():
            for cell in cells:
                assert set(cell) == {"target", "guard"}
                assert cell["target"] in SPEC.state_names
                assert cell["guard"] is None or isinstance(cell["guard"], str)
    multi = next(t for t in SPEC.transitions if len(t.guards) > 1)
    assert {"target": multi.target, "guard": " and ".join(multi.guards)} in (
        data["cells"][multi.source][multi.event])
