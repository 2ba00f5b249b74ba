"""Ground-plane speed and loitering estimators on real ETH/UCY trajectories (metres, 0.4 s steps)."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.behaviour import RunningDetector
from analytics.loitering import LoiteringDetector, LoiteringParams
from analytics.tracks import step_speeds
from twin.datapath import data_dir

PED = data_dir() / "datasets" / "pedestrians"

# file -> (median speed m/s as in PROVENANCE.md, loitering alerts with 60 s / 3 m, running alerts).
# Loitering counts are for the centroid-area rule (analytics.loitering.LoiteringParams); the earlier
# anchor rule (within 3 m of where the track settled) found 0/2/1/1/1 in zara01/zara02/zara03/students001/
# students003: the extra ones are people whose net displacement over the minute is under 3.7 m.
EXPECTED = {
    "biwi_eth.txt": (2.45, 0, 2),  # its time base makes speeds ~1.6x too high (PROVENANCE.md): "runners"
    "biwi_hotel.txt": (1.27, 0, 0),
    "crowds_zara01.txt": (1.15, 1, 0),
    "crowds_zara02.txt": (1.01, 3, 0),
    "crowds_zara03.txt": (1.13, 1, 0),
    "students001.txt": (0.52, 3, 0),
    "students003.txt": (0.72, 1, 0),
    "uni_examples.txt": (1.46, 0, 0),
}


def _frames(t: np.ndarray, ids: np.ndarray, xy: np.ndarray):
    order = np.argsort(t, kind="stable")
    for chunk in np.split(order, np.flatnonzero(np.diff(t[order])) + 1):
        yield {
            "t": float(t[chunk[0]]),
            "topic": "track/frame",
            "camera_id": "ped",
            "ids": [str(i) for i in ids[chunk]],
            "cls": ["person"] * len(chunk),
            "xy": xy[chunk],
        }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_speeds_and_loitering_on_eth_ucy(name: str) -> None:
    """Median walking speed reproduces the dataset's documented value; loitering fires only on standers."""
    a = np.loadtxt(PED / name)
    t, ids, xy = a[:, 0] / 10 * 0.4, a[:, 1].astype(int), a[:, 2:4]
    speeds = step_speeds(t, ids, xy, max_gap_s=0.5)
    median, loiter_short, running = EXPECTED[name]
    assert np.median(speeds) == pytest.approx(median, abs=0.006)
    default, short, run = (
        LoiteringDetector(),
        LoiteringDetector(LoiteringParams(dwell_s=60, radius_m=3, min_speed_mps=0.0)),  # standers too
        RunningDetector(),
    )
    counts = [0, 0, 0]
    for msg in _frames(t, ids, xy):
        counts[0] += len(default.update(msg))
        counts[1] += len(short.update(msg))
        counts[2] += len(run.update(msg))
    # scenes last 3-12 minutes: nobody stays 5 min within 12 m of a centroid; a few stand still for a minute
    assert counts == [0, loiter_short, running]
