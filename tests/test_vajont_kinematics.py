"""benchmarks/vajont_kinematics.py: the shape factor κ = R/(V T) of the Vajont runs the repository
keeps reports of, and the README's statement that no two-block run's shape allows the envelope
(issue 14 item 3). Reads committed JSON only (no simulation)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("vajont_kinematics", ROOT / "benchmarks" / "vajont_kinematics.py")
kin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kin)


def test_a_triangular_speed_history_has_shape_one_half():
    # speed rising linearly to V at T/2 and falling to 0 at T: R = V T / 2
    t = np.linspace(0.0, 30.0, 3001)
    v = 24.0 * (1.0 - np.abs(t - 15.0) / 15.0)
    runout = float(np.sum(0.5 * (v[1:] + v[:-1]) * np.diff(t)))
    assert kin.shape_factor(runout, 24.0, 30.0) == pytest.approx(0.5, rel=1e-6)
    # and it reaches 380 m in 380 / (0.5 V): 31.67 s at 24 m/s
    assert kin.duration_at_max_runout(0.5, 24.0) == pytest.approx(380.0 / 12.0)


def test_the_envelope_bounds_are_the_ones_the_case_tests_use():
    from test_dda_cases import VAJONT_ENVELOPE, VAJONT_MARGIN

    lo_t, _ = VAJONT_ENVELOPE["duration"]
    _, hi_r = VAJONT_ENVELOPE["runout"]
    lo_v, _ = VAJONT_ENVELOPE["peak_velocity"]
    assert kin.DURATION_MIN == pytest.approx(lo_t * (1 + VAJONT_MARGIN))
    assert kin.RUNOUT_MAX == pytest.approx(hi_r * (1 - VAJONT_MARGIN))
    assert kin.PEAK_MIN == pytest.approx(lo_v * (1 + VAJONT_MARGIN))


def test_no_two_block_run_has_a_shape_that_allows_the_envelope_as_the_readme_says():
    report = kin.main([])
    two = report["summary"]["vajont.toml"]
    ten = report["summary"]["vajont_10block.toml"]
    assert two["runs"] >= 50 and two["shapes_allowing_the_envelope"] == 0
    assert two["largest_duration_at_380m"] < kin.DURATION_MIN
    assert ten["shapes_allowing_the_envelope"] > 0  # the ten-block tail does (and does not repeat)
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"vajont_kinematics\.py`\): all (\d+) two-block runs .*? κ = ([0-9.]+)–([0-9.]+).*?"
                  r"at most ([0-9.]+) s", readme, re.S)
    assert m, "README: the vajont_kinematics sentence is missing"
    assert int(m.group(1)) == two["runs"]
    assert float(m.group(2)) == pytest.approx(two["kappa"][0], abs=0.005)
    assert float(m.group(3)) == pytest.approx(two["kappa"][1], abs=0.005)
    assert float(m.group(4)) == pytest.approx(two["largest_duration_at_380m"], abs=0.05)
