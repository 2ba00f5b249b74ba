"""Evidence combination: Dempster's rule on {threat, no_threat}, discounting, the cautious rule within one
sensor, the total-conflict fallback, and the source classes of alerts."""

from __future__ import annotations

import itertools
import math

import pytest

from analytics.evidence import (
    EvidenceError,
    EvidencePool,
    Reliability,
    belief,
    combine,
    discount,
    pignistic,
    plausibility,
    simple_mass,
    source_class,
)


def test_simple_mass_is_reliability_times_confidence_and_discount_moves_mass_to_the_frame():
    assert simple_mass(0.9, 0.85) == pytest.approx((0.765, 0.0, 0.235))
    assert simple_mass(0.5, 0.9, against=True) == pytest.approx((0.0, 0.45, 0.55))
    assert discount((0.6, 0.3, 0.1), 0.5) == pytest.approx((0.3, 0.15, 0.55))
    assert discount((0.6, 0.3, 0.1), 1.0) == pytest.approx((0.6, 0.3, 0.1))


def test_two_independent_supports_exceed_either_and_match_the_closed_form():
    a, b = simple_mass(0.9, 0.85), simple_mass(0.8, 0.8)
    m = combine([a, b])
    assert belief(m) == pytest.approx(1 - (1 - 0.765) * (1 - 0.64))
    assert belief(m) > max(belief(a), belief(b))
    assert sum(m) == pytest.approx(1.0)


def test_contradiction_lowers_belief_by_dempster_normalisation():
    s, c = 0.64, 0.72
    m = combine([(s, 0.0, 1 - s), (0.0, c, 1 - c)])
    k = s * c  # the conflict
    assert m == pytest.approx((s * (1 - c) / (1 - k), c * (1 - s) / (1 - k), (1 - s) * (1 - c) / (1 - k)))
    assert belief(m) < s


def test_general_masses_are_commutative_and_associative():
    ms = [(0.5, 0.2, 0.3), (0.1, 0.6, 0.3), (0.7, 0.0, 0.3), (0.0, 0.0, 1.0)]
    ref = combine(ms)
    for perm in itertools.permutations(ms):
        assert combine(perm) == pytest.approx(ref, abs=1e-12)
    assert combine([combine(ms[:2]), combine(ms[2:])]) == pytest.approx(ref, abs=1e-12)
    # the pairwise textbook rule for two masses
    (t1, n1, o1), (t2, n2, o2) = ms[:2]
    k = t1 * n2 + n1 * t2
    assert combine(ms[:2]) == pytest.approx(((t1 * t2 + t1 * o2 + o1 * t2) / (1 - k),
                                             (n1 * n2 + n1 * o2 + o1 * n2) / (1 - k), o1 * o2 / (1 - k)))


def test_no_evidence_is_vacuous_and_the_vacuous_mass_is_neutral():
    assert combine([]) == (0.0, 0.0, 1.0)
    m = (0.4, 0.1, 0.5)
    assert combine([m, (0.0, 0.0, 1.0)]) == pytest.approx(m)


def test_total_conflict_falls_back_to_the_average_not_nan():
    m = combine([(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)])
    assert m == (0.5, 0.5, 0.0)
    m = combine([(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.3, 0.0, 0.7)])
    assert all(math.isfinite(v) for v in m) and m[0] == pytest.approx(1.3 / 3)


def test_many_sources_neither_underflow_nor_overflow():
    m = combine([simple_mass(0.5, 0.8)] * 2000 + [simple_mass(0.5, 0.8, against=True)] * 1999)
    assert all(math.isfinite(v) for v in m)
    # in commonalities: q(threat) = 0.6**1999, q(no_threat) = 0.6**2000, so Bel = 1 / (1 + 0.6)
    assert belief(m) == pytest.approx(1 / 1.6, abs=1e-9)
    assert combine([simple_mass(0.9, 0.9)] * 2000)[0] == 1.0


def test_belief_plausibility_pignistic_order():
    m = (0.3, 0.2, 0.5)
    assert belief(m) == 0.3 and plausibility(m) == 0.8 and pignistic(m) == 0.55
    assert pignistic((0.0, 0.0, 1.0)) == 0.5 and belief((0.0, 0.0, 1.0)) == 0.0


@pytest.mark.parametrize("call, msg", [
    (lambda: simple_mass(1.2, 0.9), "conf must be"),
    (lambda: simple_mass(0.5, float("nan")), "reliability must be"),
    (lambda: combine([(0.5, 0.6, 0.1)]), "summing to 1"),
    (lambda: combine([(0.5, 0.5)]), "mass must be"),
    (lambda: Reliability(video=1.5), "reliability.video"),
    (lambda: Reliability().of("radar"), "source class"),
])
def test_bad_inputs_raise_one_line(call, msg):
    with pytest.raises(EvidenceError, match=msg):
        call()


def test_pool_keeps_the_strongest_alert_per_sensor_and_combines_sensors():
    pool = EvidencePool()
    assert pool.add("video", ["cam-1"], 0.5) is True
    assert pool.add("video", ["cam-1"], 0.7) is True     # stronger: replaces, not adds
    assert pool.belief == pytest.approx(0.56)
    assert pool.add("video", ["cam-1"], 0.6) is False
    assert pool.add("video", ["cam-2"], 0.7) is True
    assert pool.belief == pytest.approx(1 - 0.44 ** 2) and pool.sensors == 2


def test_pool_acoustic_fixes_sharing_a_microphone_are_one_sensor_and_merge_groups():
    pool = EvidencePool()
    pool.add("acoustic", ["m1", "m2"], 0.6)
    pool.add("acoustic", ["m3", "m4"], 0.6)
    assert pool.sensors == 2
    two = pool.belief
    pool.add("acoustic", ["m2", "m3"], 0.5)  # bridges the two: they were one array all along
    assert pool.sensors == 1 and pool.belief == pytest.approx(0.85 * 0.6) and pool.belief < two
    assert pool.add("video", ["m1"], 0.5) is True  # another class with the same id is another sensor
    assert pool.sensors == 2


def test_pool_contradiction_and_reliability():
    pool = EvidencePool(Reliability(counter=0.5))
    pool.add("video", ["cam-1"], 0.8)
    pool.add("counter", ["cnt-1"], 0.8, against=True)
    s, c = 0.64, 0.4
    assert pool.belief == pytest.approx(s * (1 - c) / (1 - s * c))
    assert pool.mass[1] > 0


def test_pool_one_sensor_both_ways_keeps_a_valid_mass():
    pool = EvidencePool(Reliability(counter=1.0))
    pool.add("counter", ["cnt"], 0.9)
    pool.add("counter", ["cnt"], 0.6, against=True)
    assert sum(pool.mass) == pytest.approx(1.0) and pool.belief == pytest.approx(0.9 / 1.5)


@pytest.mark.parametrize("alert, cls", [
    ({"kind": "gunshot", "source": ["mic-1"]}, "acoustic"),
    ({"kind": "explosion", "source": ["mic-1"]}, "acoustic"),
    ({"kind": "dos", "source": ["10.10.0.10"]}, "cyber"),
    ({"kind": "stream_loss", "source": ["10.20.1.11"], "evidence": {"via": "rtsp_flows"}}, "cyber"),
    ({"kind": "stream_loss", "source": ["cam-1"], "evidence": {"via": "health"}}, "health"),
    ({"kind": "crowd_density", "source": ["cnt-square"]}, "counter"),
    ({"kind": "crowd_density", "source": ["cam-1"]}, "video"),
    ({"kind": "crowd_anomaly", "source": ["north-gate"]}, "counter"),
    ({"kind": "running", "source": ["cam-1"]}, "video"),
    ({"kind": "video_frozen", "source": ["cam-1"]}, "video"),
])
def test_source_class(alert, cls):
    assert source_class(alert) == cls


def test_source_class_knows_cameras_without_the_cam_prefix():
    gate = {"kind": "crowd_anomaly", "source": ["north-gate"]}
    assert source_class(gate, cameras={"north-gate"}) == "video"
