"""The exogenous event streams of the simulated market (see :mod:`execution.sim.book`).

Each stream draws its events from its own ``random.Random``, one event ahead,
in the order of its own events only. What an event *does* depends on the
book when it happens, but when it happens and the numbers it carries do
not: a stream's realisation is the same however often, and in whatever
order, the book consumes it. That is what keeps the market independent of
how often it is looked at, and the same for two strategies run on one seed.

Times are ``int`` nanoseconds of exchange time.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np

_NS = 1_000_000_000
SESSION_SECONDS = 6.5 * 3600


class LevelStream:
    """Limit orders and cancels of others at one price of one side, while it is a target level.

    A Poisson stream of events at ``add_rate + cancel_rate`` a second; each is an
    add (exponential size, mean ``mean_add``, at least 1 share) with probability
    ``add_rate / total``, else a cancel carrying ``frac`` (how much of the level's
    others' volume, scaled by the caller) and ``point`` (where in the queue it
    comes from). The stream belongs to its price: when the target ladder moves,
    the price keeps its stream, whose add rate changes with the price's new place
    on the ladder. :meth:`schedule` records such a change at its time;
    :meth:`change_rates` applies it once every event before it has been applied
    (the wait for the next event is memoryless: its remainder is rescaled to the
    new rate, and its kind drawn again with the new mix).

    The pending event is ``(next_ns, size, frac, point)``: ``size > 0`` an add of
    that many shares, ``size == 0`` a cancel. Each event draws two uniforms (the
    gap, then the kind and its size or fraction) and a cancel a third (the point),
    whatever the book does with it. The book's hot loop inlines :meth:`draw`
    (same arithmetic, same order of draws).
    """

    __slots__ = ("_seed", "add_rate", "cancel_rate", "cancel_scale", "changes", "frac", "mean",
                 "next_ns", "point", "price", "random", "scale_ns", "share", "side", "size")

    def __init__(self, seed: int, side: int, price: int, add_rate: float,
                 cancel_rate: float, mean_add: float, start_ns: int) -> None:
        self.side, self.price = side, price
        self._seed = seed
        self.random: Callable[[], float] | None = None  # seeded on first use (see start)
        self.cancel_rate = cancel_rate
        self.mean = mean_add
        self.changes: list[tuple[int, float]] = []  # (from when, add rate), in time order
        self._set_rates(add_rate)
        self.next_ns = start_ns  # until started: when the stream began (it is due from then)
        self.size = 0
        self.frac = 0.0
        self.point = 0.0

    @property
    def started(self) -> bool:
        return self.random is not None

    def start(self) -> None:
        """Seed the stream and draw its first event (a level nobody looks at never needs it:
        until then the stream is only its seed and its start time)."""
        self.random = random.Random(self._seed).random
        self.draw()

    def _set_rates(self, add_rate: float) -> None:
        self.add_rate = add_rate
        rate = add_rate + self.cancel_rate
        self.scale_ns = _NS / rate
        self.share = add_rate / rate
        self.cancel_scale = 1.0 / (1.0 - self.share)

    def draw(self) -> None:
        """Draw the event after the current one."""
        assert self.random is not None, "start() the stream first"
        self.next_ns += int(-math.log(1.0 - self.random()) * self.scale_ns) + 1
        self._draw_kind()

    def _draw_kind(self) -> None:
        rand = self.random
        assert rand is not None
        u = rand()
        if u < self.share:
            self.size = int(-math.log(1.0 - u / self.share) * self.mean + 0.5) or 1
        else:
            self.size = 0
            self.frac = (u - self.share) * self.cancel_scale
            self.point = rand()

    def schedule(self, at_ns: int, add_rate: float) -> None:
        """From ``at_ns`` on, limit orders arrive at ``add_rate`` a second."""
        last = self.changes[-1][1] if self.changes else self.add_rate
        if add_rate != last:
            self.changes.append((at_ns, add_rate))

    def change_rates(self) -> None:
        """Apply the first scheduled change; every event up to its time has been applied."""
        at, add_rate = self.changes.pop(0)
        old_scale = self.scale_ns
        self._set_rates(add_rate)
        self.next_ns = at + int((self.next_ns - at) * (self.scale_ns / old_scale)) + 1
        self._draw_kind()

    def restart(self, at_ns: int, add_rate: float) -> None:
        """Forget the pending event and start afresh at ``at_ns`` (a collapsed gap, or a
        price back on the ladder after a while off it: nothing happened there meanwhile)."""
        self.changes.clear()
        self._set_rates(add_rate)
        self.next_ns = at_ns
        if self.started:
            self.draw()


class FairPath:
    """The fair value: a lognormal random walk on a fixed grid of ``step_ns``.

    ``daily_vol`` is scaled to the step; the walk is clamped to ``[lo, hi]``.
    Steps are drawn ``CHUNK`` at a time (vectorised; a chunk that would leave the
    band is clamped step by step) into a buffer, so values ahead of the book's
    clock can be read without being consumed (:meth:`ahead`, :meth:`first_exit`):
    that is how the book skips quiet steps and the exchange's driver sees a
    coming move.
    """

    CHUNK = 256
    __slots__ = ("_buf", "_hi", "_lo", "_mu", "_pos", "_rng", "_sigma", "_vol", "next_ns",
                 "step_ns", "value")

    def __init__(self, seed: int, value: float, daily_vol: float, step_ns: int,
                 lo: float, hi: float, start_ns: int, drift_per_hour: float = 0.0) -> None:
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self._vol = daily_vol
        self._sigma = daily_vol * math.sqrt(step_ns / _NS / SESSION_SECONDS)
        self._mu = drift_per_hour * step_ns / _NS / 3600  # the trend's log return a step
        self._lo, self._hi = lo, hi
        self._buf: list[float] = []  # values at next_ns, next_ns + step, ... from _pos on
        self._pos = 0
        self.step_ns = step_ns
        self.value = value
        self.next_ns = start_ns + step_ns

    def _extend(self) -> None:
        if self._pos >= self.CHUNK:  # forget what was consumed
            del self._buf[: self._pos]
            self._pos = 0
        last = self._buf[-1] if self._buf else self.value
        moves = np.exp(self._mu + self._sigma * self._rng.standard_normal(self.CHUNK))
        path = last * np.cumprod(moves)
        if path.min() < self._lo or path.max() > self._hi:
            for i, move in enumerate(moves):
                last = min(self._hi, max(self._lo, last * move))
                path[i] = last
        self._buf.extend(path.tolist())

    def ahead(self, k: int) -> float:
        """The value after ``k + 1`` more steps (``ahead(0)``: at ``next_ns``)."""
        while len(self._buf) - self._pos <= k:
            self._extend()
        return self._buf[self._pos + k]

    def first_exit(self, lo: float, hi: float, steps: int) -> int | None:
        """How many of the next ``steps`` values stay inside ``[lo, hi)`` before one does
        not (None: all of them stay)."""
        while len(self._buf) - self._pos < steps:
            self._extend()
        buf, pos = self._buf, self._pos
        for k in range(steps):
            value = buf[pos + k]
            if value < lo or value >= hi:
                return k
        return None

    def skip(self, steps: int) -> None:
        """Move ``steps`` steps on (the value becomes the last of them)."""
        if steps > 0:
            self.ahead(steps - 1)
            self._pos += steps
            self.value = self._buf[self._pos - 1]
            self.next_ns += steps * self.step_ns

    def step(self) -> float:
        """Move to the value at ``next_ns``; the grid moves one step on."""
        self.skip(1)
        return self.value

    def jump(self, to_ns: int) -> float:
        """One move over every step up to ``to_ns`` (a collapsed gap); the grid carries on."""
        del self._buf[:]
        self._pos = 0
        steps = (to_ns - self.next_ns) // self.step_ns + 1
        if steps > 0:
            sigma = self._vol * math.sqrt(steps * self.step_ns / _NS / SESSION_SECONDS)
            move = math.exp(self._mu * steps + sigma * float(self._rng.standard_normal()))
            self.value = min(self._hi, max(self._lo, self.value * move))
            self.next_ns += steps * self.step_ns
        return self.value


class FlowStream:
    """Marketable orders of others: a Poisson stream at ``rate`` a second.

    Each carries ``side_draw`` (uniform; the book picks the side with it, so that
    buys arrive at ``rate_per_side x (1 + tilt)`` and sells at ``... (1 - tilt)``)
    and a lognormal ``size``. Arrivals are drawn ``CHUNK`` at a time (vectorised)
    and handed out one by one, in order.
    """

    CHUNK = 64
    __slots__ = (
        "_gaps",
        "_log_median",
        "_next",
        "_rate",
        "_rng",
        "_sides",
        "_sigma",
        "_sizes",
        "next_ns",
        "side_draw",
        "size",
    )

    def __init__(self, seed: int, rate: float, median: float, sigma: float,
                 start_ns: int) -> None:
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self._rate = rate
        self._log_median = math.log(median)
        self._sigma = sigma
        self._gaps: list[int] = []
        self._sides: list[float] = []
        self._sizes: list[int] = []
        self._next = 0
        self.next_ns = start_ns
        self.side_draw = 0.0
        self.size = 0
        if rate > 0:
            self.draw()
        else:
            self.next_ns = 2**63

    def _extend(self) -> None:
        """Draw the next chunk (every arrival so far has been handed out)."""
        rng, n = self._rng, self.CHUNK
        self._gaps = (rng.exponential(_NS / self._rate, n).astype(np.int64) + 1).tolist()
        self._sides = rng.random(n).tolist()
        sizes = np.rint(rng.lognormal(self._log_median, self._sigma, n))
        self._sizes = np.maximum(sizes, 1).astype(np.int64).tolist()
        self._next = 0

    def following_ns(self) -> int:
        """When the arrival after the pending one comes (read ahead, not consumed)."""
        if self._rate <= 0:
            return self.next_ns
        if self._next == len(self._gaps):
            self._extend()
        return self.next_ns + self._gaps[self._next]

    def draw(self) -> None:
        if self._next == len(self._gaps):
            self._extend()
        i = self._next
        self._next = i + 1
        self.next_ns += self._gaps[i]
        self.side_draw = self._sides[i]
        self.size = self._sizes[i]

    def restart(self, at_ns: int) -> None:
        if self._rate > 0:
            self.next_ns = at_ns
            self.draw()
