"""``report.html``: written by a real (short) run, every section there, nothing to fetch; in headless Chromium
it renders with no failed and no outside request and its screenshot is not blank; missing files make their
sections say so; ``run_sim.py report`` rewrites it and rejects a bad folder with exit 2.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: plain JSON messages on
file descriptors 3 and 4, no extra package), because the DevTools-free switches cannot see what matters
here: ``--log-net-log`` records only network-stack requests (a ``file://`` sub-resource that fails to load
never appears in it) and is filled with the browser's own background traffic, and ``--enable-logging``
does not print failed loads. The page's session reports every request it makes (``Network.requestWillBeSent``)
and every failure (``Network.loadingFailed``), which is exactly the check.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from scenarios.report import FAILED, REPORT_FILE, SECTIONS, ReportError, write_report

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "library" / "helsinki" / "default.yaml"
#: Switches that keep Chromium from any traffic of its own (updates, sync, sign-in) and from the network.
QUIET = ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-extensions", "--disable-default-apps", "--mute-audio",
         "--host-resolver-rules=MAP * ~NOTFOUND")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A real 60 s run of the default scenario (the bag is placed, the brute force starts) and its report."""
    from scenarios.engine import run_scenario

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN_CACHE", str(tmp_path_factory.mktemp("twin-cache")))
        res = run_scenario(SCENARIO, out=tmp_path_factory.mktemp("runs") / "default", duration_s=60.0,
                           quiet=True)
    return res.out_dir


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "chromium is not installed (Debian package `chromium`; .ci/run installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


class _Pipe:
    """The DevTools protocol over ``--remote-debugging-pipe``: NUL-terminated JSON messages."""

    def __init__(self, exe: str, profile: Path) -> None:
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()
        # lift both ends above 4 so that placing them on 3 and 4 in the child cannot clobber either
        hi_r, hi_w = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
        os.close(to_r)
        os.close(from_w)

        def fds() -> None:
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.proc = subprocess.Popen([exe, *QUIET, f"--user-data-dir={profile}", "--remote-debugging-pipe",
                                      "about:blank"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=fds, pass_fds=(3, 4))
        os.close(hi_r)
        os.close(hi_w)
        self._buf, self._id, self.events = b"", 0, []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, *, session: str | None = None,
             timeout: float = 30.0) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            got = self._read(deadline)
            if got.get("id") == self._id:
                assert "error" not in got, f"{method}: {got['error']}"
                return got.get("result", {})
            self.events.append(got)

    def wait_for(self, method: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read(deadline))

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5.0)
        except (TimeoutError, RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_w)
        os.close(self._from_r)


def render(html: Path, png: Path, profile: Path) -> dict:
    """Open ``html`` in headless Chromium at 1280 px wide, wait for its load event, save a full-page
    screenshot to ``png``; returns the URLs the page requested, its failed loads and its console errors."""
    pipe = _Pipe(_chromium(), profile)
    try:
        target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Network", "Page", "Log", "Runtime"):
            pipe.call(f"{domain}.enable", session=session)
        pipe.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 1600, "deviceScaleFactor": 1, "mobile": False}, session=session)
        pipe.call("Page.navigate", {"url": html.resolve().as_uri()}, session=session)
        pipe.wait_for("Page.loadEventFired")
        shot = pipe.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                         session=session)
        png.write_bytes(base64.b64decode(shot["data"]))
    finally:
        pipe.close()
    ev = [e for e in pipe.events if e.get("sessionId") is not None]
    return {"requests": [e["params"]["request"]["url"][:120] for e in ev  # data: URLs are long
                         if e["method"] == "Network.requestWillBeSent"],
            "failed": [e["params"].get("errorText") for e in ev if e["method"] == "Network.loadingFailed"],
            "errors": [e["params"]["entry"].get("text") for e in ev if e["method"] == "Log.entryAdded"
                       and e["params"]["entry"].get("level") == "error"]
            + [e["params"].get("exceptionDetails", {}).get("text") for e in ev
               if e["method"] == "Runtime.exceptionThrown"]}


def _not_blank(png: Path) -> tuple[int, float]:
    """Distinct colours and the share of pixels that are not near-white."""
    from PIL import Image

    a = np.asarray(Image.open(png).convert("RGB")).astype(np.int32)
    colours = len(np.unique((a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2]))
    return colours, float((a.min(axis=2) < 235).mean())


def test_run_writes_a_self_contained_report_with_every_section(run_dir):
    html = (run_dir / REPORT_FILE).read_text(encoding="utf-8")
    for sid, title in SECTIONS:
        assert f'<section id="{sid}"><h2>{title}</h2>' in html
    assert FAILED not in html
    assert not re.search(r"https?://", html)
    assert not re.search(r"""(?:src|href)\s*=\s*(?!["']?(?:data:|#))""", html)   # data: images, # links
    assert html.count("data:image/png;base64,") == 3                         # timeline, map, density
    assert "No resilience curves: resilience.csv has no records" in html     # no asset hit within 60 s
    assert "Drawn without streets" not in html                               # the engine passed them
    assert "senate-bag" in html and "vms-ssh" in html                        # the attacks in the summary
    assert "No criteria evaluated (criteria.json is missing)" in html or '<tr class="pass">' in html


def test_report_renders_in_chromium_with_no_failed_request_and_is_not_blank(run_dir, tmp_path):
    got = render(run_dir / REPORT_FILE, tmp_path / "shot.png", tmp_path / "profile")
    page = (run_dir / REPORT_FILE).resolve().as_uri()[:120]
    assert got["failed"] == []
    assert [u for u in got["requests"] if u != page and not u.startswith("data:")] == []
    assert got["errors"] == []
    colours, ink = _not_blank(tmp_path / "shot.png")
    assert colours > 50 and ink > 0.05, (colours, ink)


def test_chromium_check_sees_a_failed_and_an_outside_request(run_dir, tmp_path):
    """The check above can fail: a missing local image and an outside URL are both caught."""
    bad = tmp_path / "bad.html"
    html = (run_dir / REPORT_FILE).read_text(encoding="utf-8")
    bad.write_text(html.replace("</main>", '<img src="missing.png"><img src="http://example.invalid/x.png">'
                                "</main>"), encoding="utf-8")
    got = render(bad, tmp_path / "bad.png", tmp_path / "profile")
    assert len(got["failed"]) == 2, got["failed"]
    assert any(u.startswith("http://example.invalid") for u in got["requests"])


def _partial(run_dir: Path, tmp_path: Path, drop: tuple[str, ...]) -> Path:
    d = tmp_path / "partial"
    shutil.copytree(run_dir, d, ignore=shutil.ignore_patterns("sensors", REPORT_FILE, *drop))
    return d


def test_missing_files_are_named_in_their_sections(run_dir, tmp_path):
    d = _partial(run_dir, tmp_path, ("metrics.json", "criteria.json", "alerts.jsonl", "crowd_density.csv",
                                     "resilience.csv", "cop.geojson", "incidents.jsonl"))
    (d / "density_estimates.csv").write_text("", encoding="utf-8")
    html = write_report(d, streets=[]).read_text(encoding="utf-8")
    assert FAILED not in html
    for text in ("No metrics: metrics.json is missing", "No criteria evaluated (criteria.json is missing)",
                 "No density curves: crowd_density.csv is missing",
                 "No resilience curves: resilience.csv is missing",
                 "Not shown: alerts.jsonl is missing", "Not shown: incidents.jsonl is missing",
                 "No incidents, sensors or routes from the picture: cop.geojson is missing"):
        assert text in html, text
    assert html.count("data:image/png;base64,") == 2                         # timeline and map remain


def test_no_twin_means_a_map_without_streets_and_names_are_escaped(run_dir, tmp_path):
    d = _partial(run_dir, tmp_path, ())
    sc = (d / "scenario.yaml").read_text(encoding="utf-8")
    sc = sc.replace("name: helsinki-default", "name: '<script>alert(1)</script>'")
    (d / "scenario.yaml").write_text(sc.replace("city: helsinki", "city: atlantis"), encoding="utf-8")
    html = write_report(d).read_text(encoding="utf-8")
    assert "Drawn without streets: the twin of &#x27;atlantis&#x27; could not be loaded" in html
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_criteria_table_shows_each_result_with_its_status(run_dir, tmp_path):
    d = _partial(run_dir, tmp_path, ())
    results = [{"name": "detect bag_leaver", "kind": "detect", "subject": "bag_leaver", "units": "s",
                "expected": 120, "acceptable": None, "actual": 66.1, "status": "pass",
                "first_violation_t": None, "evidence": ["A2"], "known_issue": None, "flag": None,
                "message": "66.1 s <= 120 s"},
               {"name": "false alarms", "kind": "false_alarms_per_hour_max", "subject": "all",
                "units": "alerts/h", "expected": 1, "acceptable": 2, "actual": 30.0, "status": "fail",
                "first_violation_t": 12.5, "evidence": ["A1"], "known_issue": None, "flag": None,
                "message": "30 alerts/h > 1 alerts/h"}]
    (d / "criteria.json").write_text(json.dumps({"scenario": "helsinki-default", "seed": 1, "passed": False,
                                                 "counts": {"pass": 1, "acceptable": 0, "fail": 1,
                                                            "known_failure": 0}, "results": results}))
    (d / "resilience.csv").write_text("t,asset,name,type,q\n0,w1,Asema,station,1\n10,w1,Asema,station,0.4\n"
                                      "20,w1,Asema,station,1\n", encoding="utf-8")
    html = write_report(d, streets=[]).read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 4 and FAILED not in html   # now with Q(t)
    crit = html[html.index('<section id="criteria">'):html.index('<section id="density">')]
    assert "Criteria failed: pass 1, acceptable 0, fail 1, known_failure 0" in crit
    assert '<tr class="pass"><td>detect bag_leaver</td>' in crit
    assert '<tr class="fail"><td>false alarms</td>' in crit and "30 alerts/h &gt; 1 alerts/h" in crit


def test_report_command_rewrites_and_rejects_a_bad_folder(run_dir, tmp_path, capsys):
    import run_sim

    d = _partial(run_dir, tmp_path, ())
    assert run_sim.main(["report", str(d)]) == 0
    html = (d / REPORT_FILE).read_text(encoding="utf-8")
    assert "Drawn without streets" not in html                               # the twin was loaded again
    assert capsys.readouterr().out.strip() == str(d / REPORT_FILE)
    for bad in (tmp_path / "nowhere", tmp_path / "empty"):
        if bad.name == "empty":
            bad.mkdir()
        assert run_sim.main(["report", str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: run folder") and err.count("\n") == 1
    with pytest.raises(ReportError):
        write_report(tmp_path / "nowhere")
