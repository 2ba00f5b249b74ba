"""positions.parquet (scenarios.replay_positions) and ``run_sim.py replay`` (scenarios.replay) on a short real
run of the default scenario."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from PIL import Image
from pyproj import Transformer

import run_sim
from scenarios.engine import run_scenario
from scenarios.replay import frame_times
from scenarios.replay_positions import ROLES, read_positions
from scenarios.schema import ScenarioError, load_scenario

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "library" / "helsinki" / "default.yaml"
DURATION = 20.0


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return run_scenario(SCENARIO, out=tmp_path_factory.mktemp("replay") / "run", duration_s=DURATION,
                        quiet=True).out_dir


def _frames(n_t: float, fps: float = 4.0, speed: float = 10.0) -> int:
    return math.ceil(n_t * fps / speed) + 1


def test_positions_columns_cadence_and_metadata(run_dir):
    pf = pq.ParquetFile(run_dir / "positions.parquet")
    schema = pf.schema_arrow
    assert [f.name for f in schema] == ["t", "id", "x", "y", "role"]
    assert schema.field("t").type == pa.float32() and schema.field("id").type == pa.int64()
    assert schema.field("x").type == pa.float32() and schema.field("y").type == pa.float32()
    assert pa.types.is_dictionary(schema.field("role").type)
    meta = {k.decode(): json.loads(v) for k, v in pf.metadata.metadata.items() if k.startswith(b"twin:")}
    assert meta["twin:crs"] == "EPSG:32635" and meta["twin:every_s"] == 1.0 and meta["twin:samples"] == 21
    pos = read_positions(run_dir / "positions.parquet")
    assert pos.t.tolist() == [float(k) for k in range(21)]          # every 1 s from 0 to the end, inclusive
    assert set(pos.roles) == set(ROLES)
    for k in range(len(pos.t)):                                       # one row per target in each sample
        ids = pos.ids[pos.start[k]:pos.start[k + 1]]
        assert len(np.unique(ids)) == len(ids)


def test_positions_people_match_the_runs_density_truth(run_dir):
    """Crowd people inside each density zone (crowd_zones.geojson, lon/lat, projected with the file's
    CRS) are the truth's counts in crowd_density.csv, which adds the look-alikes' persons (the upper bound);
    float32 metres hold a UTM northing to 0.5 m, so people within 0.3 m of a zone's edge may fall either
    side."""
    pos = read_positions(run_dir / "positions.parquet")
    to_xy = Transformer.from_crs("EPSG:4326", pos.crs, always_xy=True)
    lon, lat = Transformer.from_crs(pos.crs, "EPSG:4326", always_xy=True).transform(*pos.xy.T)
    w, s_, e, n = 24.947, 60.1675, 24.9545, 60.1715                      # default.yaml's bbox
    assert (lon > w - 0.001).all() and (lon < e + 0.001).all()
    assert (lat > s_ - 0.001).all() and (lat < n + 0.001).all()
    zones = {f["properties"]["zone"]:
             shapely.transform(shapely.geometry.shape(f["geometry"]),
                               lambda c: np.column_stack(to_xy.transform(c[:, 0], c[:, 1])))
             for f in json.loads((run_dir / "crowd_zones.geojson").read_text())["features"]}
    truth = {}
    with open(run_dir / "crowd_density.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            truth[(float(r["t"]), r["zone"])] = int(r["people"])
    crowd, look = ROLES.index("crowd"), ROLES.index("lookalike")
    checked = 0
    for t in (0.0, 10.0, 20.0):
        rows = pos.at(t)
        xy, role = pos.xy[rows], pos.role[rows]
        for name, poly in zones.items():
            inside = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
            edge = int((shapely.distance(poly.exterior, shapely.points(xy)) < 0.3).sum())
            n_crowd = int((inside & (role == crowd)).sum())
            n_all = n_crowd + int((inside & (role == look)).sum())
            assert n_crowd - edge <= truth[(t, name)] <= n_all + edge, (t, name)
            checked += truth[(t, name)]
    assert checked > 100
    phases = [json.loads(x) for x in (run_dir / "ground_truth.jsonl").read_text().splitlines()
              if '"attack_phase"' in x]
    leaver = {r["id"] for r in phases if r["attack"] == "bag_leaver"}
    att = pos.role == ROLES.index("attacker")                           # the bag leaver, once it has appeared
    assert len(leaver) == 1 and set(pos.ids[att].tolist()) == leaver and att[pos.at(20.0)].sum() == 1


def test_positions_every_s_zero_writes_none_and_negative_is_an_error(tmp_path):
    sc = load_scenario(SCENARIO)
    sc.data["outputs"] = {**sc.data.get("outputs", {}), "positions_every_s": 0}
    res = run_scenario(sc, out=tmp_path / "run", duration_s=2.0, quiet=True, metrics=False)
    assert not (res.out_dir / "positions.parquet").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.read_text() + "outputs: {positions_every_s: -1}\n")
    with pytest.raises(ScenarioError, match=r"positions_every_s: must be >= 0"):
        load_scenario(bad)


def test_frame_times_follow_the_formula():
    for span, fps, speed in ((20.0, 4, 10), (7.3, 3, 2), (10.0, 4, 10), (1.0, 25, 0.5)):
        t = frame_times(5.0, 5.0 + span, fps=fps, speed=speed)
        assert len(t) == _frames(span, fps, speed)
        assert t[0] == 5.0 and t[-1] == 5.0 + span and np.all(np.diff(t) > 0)


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_replay_gif_is_deterministic_and_has_the_formulas_frames(run_dir, tmp_path, capsys):
    outs = [tmp_path / "a.gif", tmp_path / "b.gif"]
    for out in outs:
        assert run_sim.main(["replay", str(run_dir), "--out", str(out)]) == 0
    assert f"{_frames(DURATION)} frames" in capsys.readouterr().out
    n = [Image.open(o).n_frames for o in outs]
    assert n == [_frames(DURATION)] * 2 == [9, 9]
    assert _sha(outs[0]) == _sha(outs[1])
    assert run_sim.main(["replay", str(run_dir)]) == 0            # default: RUN_DIR/replay.gif
    assert Image.open(run_dir / "replay.gif").n_frames == 9


def test_replay_from_to_cut_and_clip(run_dir, tmp_path):
    out = tmp_path / "cut.gif"
    assert run_sim.main(["replay", str(run_dir), "--out", str(out), "--from", "5", "--to", "12",
                         "--fps", "2", "--speed", "1"]) == 0
    assert Image.open(out).n_frames == _frames(7.0, 2, 1) == 15
    assert run_sim.main(["replay", str(run_dir), "--out", str(out), "--from", "-50", "--to", "999"]) == 0
    assert Image.open(out).n_frames == _frames(DURATION)


def test_replay_mp4_has_every_frame(run_dir, tmp_path):
    import imageio_ffmpeg

    out = tmp_path / "r.mp4"
    assert run_sim.main(["replay", str(run_dir), "--out", str(out), "--fps", "8"]) == 0
    assert out.stat().st_size > 10_000
    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(out), "-map", "0:v:0", "-c", "copy",
                           "-f", "null", "-"], capture_output=True, text=True, check=True)
    counts = re.findall(r"frame=\s*(\d+)", proc.stderr)
    assert counts and int(counts[-1]) == _frames(DURATION, 8, 10) == 17


@pytest.mark.parametrize(("argv", "message"), [
    (["--from", "15", "--to", "10"], "window [15, 10] s"),
    (["--from", "30"], "window [20, 20] s"),
    (["--out", "x.avi"], "must end in .gif or .mp4"),
    (["--speed", "0"], "--speed: must be a number > 0"),
])
def test_bad_options_exit_2_with_one_line(run_dir, capsys, argv, message):
    assert run_sim.main(["replay", str(run_dir), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_missing_folder_and_run_without_positions_exit_2(tmp_path, capsys):
    assert run_sim.main(["replay", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "old").mkdir()
    assert run_sim.main(["replay", str(tmp_path / "old")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rerun with outputs.positions_every_s > 0" in err
