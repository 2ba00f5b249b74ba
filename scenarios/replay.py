"""``run_sim.py replay RUN_DIR``: re-render a run from its recorded files, without re-simulating.

People, vehicles and left objects are dots coloured by role (``positions.parquet``), each camera's ground
view is a polygon (red while its stream is down), alerts appear as markers with their kind at their time and
fade over ``ReplayParams.fade_s``, incidents are circles (radius their 1-sigma location uncertainty, colour
their priority, dashed once resolved) labelled with id, kind and priority as they are created and updated;
alerts and incidents without a place (cyber) are listed in the top-right corner. The twin's streets and
buildings are drawn beneath when the twin loads (``scenarios.replay_data``).

Frames: ``fps`` output frames per second of animation, each ``speed / fps`` simulated seconds apart, from
``t_from`` to ``t_to`` (the last frame is ``t_to``): ``ceil((t_to - t_from) * fps / speed) + 1`` frames, the
same for the same run and options. Dots show the last sample at or before a frame's time.

Output: GIF (Pillow, each frame kept as a 256-colour image until the end: long runs are better as MP4) or
MP4 (H.264 through the ffmpeg binary of the ``imageio-ffmpeg`` package), by the file's suffix. Rendering
uses matplotlib's Agg backend with artists created once and updated per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib import rcParams
from matplotlib.animation import AbstractMovieWriter, FFMpegWriter, PillowWriter
from matplotlib.colors import to_rgb
from PIL import Image

from scenarios.replay_data import Backdrop, ReplayError, RunRecord, load_backdrop, load_run
from scenarios.replay_draw import ALERT_COLOUR, PRIORITY_COLOURS, ROLE_STYLE, Scene

__all__ = ["ReplayParams", "ReplayResult", "frame_times", "render_frame", "replay"]

SUFFIXES = (".gif", ".mp4")


def _f(default, doc: str):
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class ReplayParams:
    """How a run is replayed."""

    fps: float = _f(4.0, "output frames per second of animation")
    speed: float = _f(10.0, "simulated seconds per second of animation")
    t_from: float | None = _f(None, "first simulated second shown (default the run's start; clipped to it)")
    t_to: float | None = _f(None, "last simulated second shown (default the run's end; clipped to it)")
    fade_s: float = _f(30.0, "simulated seconds over which an alert's marker fades out")
    dpi: int = _f(100, "dots per inch of the 8 x 8 inch figure (800 x 800 pixels at 100)")
    backdrop: bool = _f(True, "draw the twin's streets and buildings (skipped with a note if it fails)")


@dataclass(frozen=True)
class ReplayResult:
    """What ``replay`` wrote."""

    path: Path
    frames: int
    t_from: float
    t_to: float
    notes: list[str]


def frame_times(t_from: float, t_to: float, *, fps: float, speed: float) -> np.ndarray:
    """The simulated time of each frame: ``speed / fps`` apart from ``t_from``, the last one ``t_to``.

    >>> frame_times(0.0, 10.0, fps=4, speed=10).tolist()
    [0.0, 2.5, 5.0, 7.5, 10.0]
    >>> frame_times(0.0, 11.0, fps=4, speed=10).tolist()
    [0.0, 2.5, 5.0, 7.5, 10.0, 11.0]
    """
    step = float(speed) / float(fps)
    # rounded first, so that 10 s at 2.5 s a frame is 4 steps even where the division is not exact
    n = math.ceil(round((t_to - t_from) / step, 9)) + 1
    t = t_from + step * np.arange(n, dtype=float)
    t[-1] = t_to
    return np.round(t, 6)


def _check(p: ReplayParams, out: Path) -> None:
    for name, v in (("--fps", p.fps), ("--speed", p.speed)):
        if not (math.isfinite(v) and v > 0):
            raise ReplayError(f"{name}: must be a number > 0, got {v!r}")
    if out.suffix.lower() not in SUFFIXES:
        raise ReplayError(f"--out: must end in .gif or .mp4, got {str(out)!r}")


class _GifWriter(PillowWriter):
    """Pillow's GIF writer, each frame reduced when grabbed to the 256-colour palette of the first one,
    undithered: a quarter of the memory, and a GIF that stores only what changes from frame to frame."""

    def grab_frame(self, **savefig_kwargs) -> None:
        super().grab_frame(**savefig_kwargs)
        rgb = self._frames[-1].convert("RGB")
        if len(self._frames) == 1:
            self._palette = _palette(rgb)
        self._frames[-1] = rgb.quantize(palette=self._palette, dither=Image.Dither.NONE)


def _palette(first: Image.Image) -> Image.Image:
    """A 256-colour palette: the scene's key colours (roles, alerts, priorities: a frame may show them first
    later on) and the first frame's most representative others."""
    keys = [c for c, _, _ in ROLE_STYLE.values()] + list(PRIORITY_COLOURS.values()) + [ALERT_COLOUR,
                                                                                      "#e61a1a", "#000000"]
    rgb = [tuple(int(round(255 * v)) for v in to_rgb(c)) for c in dict.fromkeys(keys)]
    base = first.quantize(colors=256 - len(rgb), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    flat = [v for c in rgb for v in c] + base.getpalette()[: 3 * (256 - len(rgb))]
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat + [0] * (768 - len(flat)))
    return pal


def _writer(out: Path, p: ReplayParams) -> AbstractMovieWriter:
    if out.suffix.lower() == ".mp4":
        import imageio_ffmpeg

        rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
        return FFMpegWriter(fps=p.fps, codec="libx264",
                            extra_args=["-pix_fmt", "yuv420p", "-preset", "veryfast"])
    return _GifWriter(fps=p.fps)


def _backdrop(rec: RunRecord, p: ReplayParams, notes: list[str]) -> Backdrop | None:
    if not p.backdrop:
        return None
    if "city" not in rec.scenario:
        notes.append("backdrop skipped: scenario.yaml names no city")
        return None
    try:
        return load_backdrop(rec.scenario)
    except Exception as exc:  # noqa: BLE001 - the backdrop is optional: any failure only skips it
        first = str(exc).splitlines()[0] if str(exc) else ""
        notes.append(f"backdrop skipped: {type(exc).__name__}: {first}")
        return None


def replay(run_dir: str | Path, *, out: str | Path | None = None,
           params: ReplayParams | None = None) -> ReplayResult:
    """Render the run in ``run_dir`` to ``out`` (default ``RUN_DIR/replay.gif``); see the module docstring.

    Raises
    ------
    ReplayError
        No such folder, no ``positions.parquet``, an empty window, bad options or output suffix.
    """
    p = params or ReplayParams()
    run = Path(run_dir)
    path = Path(out) if out is not None else run / "replay.gif"
    _check(p, path)
    rec = load_run(run, t_from=p.t_from, t_to=p.t_to)
    a, b = rec.t_from, rec.t_to
    notes: list[str] = []
    times = frame_times(a, b, fps=p.fps, speed=p.speed)
    scene = Scene(rec, backdrop=_backdrop(rec, p, notes), fade_s=p.fade_s, frames=len(times))
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = _writer(path, p)
    try:
        with writer.saving(scene.fig, str(path), dpi=p.dpi):
            for k, t in enumerate(times):
                scene.update(float(t), k)
                writer.grab_frame()
    finally:
        scene.close()
    return ReplayResult(path=path, frames=len(times), t_from=a, t_to=b, notes=notes)


def render_frame(run_dir: str | Path, t: float, out: str | Path, *,
                 params: ReplayParams | None = None) -> Path:
    """One frame of the replay at simulated time ``t``, as a PNG (to look at one moment of a run)."""
    p = params or ReplayParams()
    rec = load_run(run_dir, t_from=p.t_from, t_to=p.t_to)
    t = min(max(float(t), rec.t_from), rec.t_to)
    scene = Scene(rec, backdrop=_backdrop(rec, p, []), fade_s=p.fade_s, frames=1)
    try:
        scene.update(float(t), 0)
        scene.fig.savefig(out, dpi=p.dpi)
    finally:
        scene.close()
    return Path(out)
