"""The run loop: one simpy clock driving the model, the sensors, camera states, density truth and events.

- The model (crowd + Mesa individuals) ticks every ``dt_s`` at urgent priority, so at any instant the world is
  advanced before anyone measures it; its truth records go to the truth writer.
- Each sensor is its own process every ``period_s`` (the k-th sample exactly at ``k * period``, no drift),
  fed a ``WorldView`` of the targets (computed once per tick and shared) and the sound impulses since its
  last call; its messages go on the bus.
- Camera states follow the cyber range's effects and scheduled faults, checked once a second (urgent): a
  camera's status is the attack's where one acts on it, else its scheduled fault; its stream view
  (``Camera.vms``) gets the network's link state (sessions cut, frames a congested link lets through, the
  replay loop), from which the camera makes what the video server receives.
- ``crowd_density.csv`` gets the true people per zone every ``DENSITY_PERIOD_S`` (the crowd's and the
  look-alikes' persons, ``CityModel.counts_in``).
- Scheduled actions (``scenarios.scheduled``) run at urgent priority, before sensors measure at that instant.
- ``positions.parquet`` (when the run has a ``positions`` writer, ``scenarios.replay_positions``) gets the
  world's targets every ``outputs.positions_every_s``, the same targets the sensors measure at that instant.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import simpy
from simpy.events import URGENT

from agents.world import WorldView
from scenarios.truth import TRUTH_HOLD_S

__all__ = ["DENSITY_PERIOD_S", "LATE", "RunLoop", "UrgentTimeout"]

#: Period of ``crowd_density.csv`` rows.
DENSITY_PERIOD_S = 10.0
#: Priority of an event processed after every normal and urgent event of its instant (simpy: lower first).
LATE = 2


class UrgentTimeout(simpy.events.Event):
    """A timeout processed before every normal event at the same instant (a ``Timeout`` at URGENT priority;
    like SimPy's own ``Timeout`` it marks itself triggered and schedules itself)."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, delay)


class _LateCall(simpy.events.Event):
    """Calls ``fn(now)`` at the end of the current instant, after every other event scheduled for it."""

    def __init__(self, env: simpy.Environment, fn: Callable[[float], None]) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        self.callbacks.append(lambda _ev: fn(env.now))
        env.schedule(self, LATE, 0)


class RunLoop:
    """The processes of one run on one ``simpy.Environment`` (see the module docstring).

    ``run`` needs: ``model``, ``crowd``, ``truth`` (a ``TruthWriter``), ``bus``, ``sensors``, ``cameras``
    (id -> camera), ``cyber`` (the range, or None), ``scheduled`` (sensor id -> status a scheduled fault
    put it in), ``zones`` and ``density_fh`` (an open text file); optionally ``positions`` (a
    ``PositionsWriter``, or None) and its period ``positions_every_s``.
    """

    def __init__(self, run: Any) -> None:
        self.run = run
        self.env = simpy.Environment()
        self.ticks = 0
        self._targets_tick, self._targets = -1, None

    def at_instant_end(self, fn: Callable[[float], None]) -> None:
        """Call ``fn(now)`` once every message of this instant has been published (batches of one instant's
        camera frames are processed then)."""
        _LateCall(self.env, fn)

    def _world(self) -> Any:
        """The targets now, computed once per model tick and shared by every sensor."""
        if self._targets_tick != self.ticks:
            self._targets = self.run.model.targets()
            self._targets_tick = self.ticks
        return self._targets

    def _model_proc(self, dt: float, duration: float, bar):
        env, run = self.env, self.run
        for k in range(int(round(duration / dt))):
            t = k * dt
            step = min(dt, duration - t)
            yield UrgentTimeout(env, step)
            run.model.advance(t, step)
            self.ticks += 1
            run.truth.add(run.model.drain_truth())
            run.truth.flush(env.now - TRUTH_HOLD_S)
            if bar is not None:
                bar.update(step)

    def _sensor_proc(self, sensor):
        env, run = self.env, self.run
        seen, k = 0, 0
        while True:
            imps = run.model.impulses
            world = WorldView(env.now, self._world(), imps[seen:])
            seen = len(imps)
            for topic, payload in sensor.measure(world):
                run.bus.publish(env.now, topic, payload)
            k += 1
            yield env.timeout(k * sensor.period_s - env.now)

    def _status_proc(self):
        env, run = self.env, self.run
        while True:
            links = run.cyber.camera_links(env.now) if run.cyber is not None else {}
            for cid, cam in run.cameras.items():
                link = links.get(cid)
                hit = None if link is None else link.status
                want = hit if hit not in (None, "ok") else run.scheduled.get(cid, "ok")
                if cam.status != want:
                    cam.set_status(want)
                if link is not None:
                    cam.vms.set_link(link)
            yield UrgentTimeout(env, 1.0)

    def _density_proc(self):
        run = self.run
        while True:
            counts = run.model.counts_in(run.zones)
            t = f"{self.env.now:.1f}"
            run.density_fh.write("".join(f"{t},{z},{n}\n" for z, n in counts.items()))
            yield self.env.timeout(DENSITY_PERIOD_S)

    def _positions_proc(self, every_s: float):
        run, k = self.run, 0
        while True:
            run.positions.sample(self.env.now, run.model, self._world())
            k += 1
            yield self.env.timeout(k * every_s - self.env.now)

    def after(self, delay_s: float, fn: Callable[[float], None]) -> None:
        """Call ``fn(now)`` ``delay_s`` from now, before the normal events of that instant."""
        self.env.process(self._at(max(float(delay_s), 0.0), fn))

    def _at(self, at_s: float, fn: Callable[[float], None]):
        yield UrgentTimeout(self.env, at_s)
        fn(self.env.now)

    def run_until(self, duration: float, dt: float, actions: list, *, title: str, quiet: bool) -> None:
        """Start every process and run the clock to ``duration`` (a progress bar on a terminal)."""
        bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(total=duration, unit="sim s", desc=title, delay=2.0, file=sys.stderr,
                       bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} sim s [{elapsed}<{remaining}]")
        env = self.env
        env.process(self._model_proc(dt, duration, bar))
        if self.run.cameras:       # before the sensors: camera states at t = 0 are set before the first frame
            env.process(self._status_proc())
        for s in self.run.sensors:
            env.process(self._sensor_proc(s))
        env.process(self._density_proc())
        if getattr(self.run, "positions", None) is not None:
            env.process(self._positions_proc(float(self.run.positions_every_s)))
        for at_s, fn in actions:
            env.process(self._at(at_s, fn))
        try:
            env.run(until=duration + 1e-9)
        finally:
            if bar is not None:
                bar.close()
