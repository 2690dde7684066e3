"""The north-flank study of the Vajont cases (benchmarks/vajont_flank.py; issue 14 items 2-3):
the flank is turned about its toe and nothing else moves; the committed reports say what their
runs say."""

import importlib.util
import json
import math

import numpy as np
import pytest

from conftest import CASES, ROOT
from test_dda_cases import VAJONT_ENVELOPE

_spec = importlib.util.spec_from_file_location("vajont_flank", ROOT / "benchmarks" / "vajont_flank.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_the_envelope_is_the_one_the_case_tests_use():
    for k, (lo, hi) in bench.ENVELOPE.items():
        assert VAJONT_ENVELOPE[k][0] == lo and VAJONT_ENVELOPE[k][1] == (math.inf if hi is None else hi), k


@pytest.mark.parametrize("case", ["vajont.toml", "vajont_10block.toml"])
@pytest.mark.parametrize("angle", [20.0, 27.5, 45.0])
def test_flank_turns_about_its_toe_and_moves_the_runup_line_with_it(case, angle):
    import coupling

    path = str(CASES / case)
    shipped = coupling.load_case(path)
    sets = bench.flank_sets(path, angle)
    turned = coupling.load_case(path, sets)
    toe, top = (np.array(p, float) for p in turned.spec.monitor.runup_line)
    assert math.degrees(math.atan2(top[1] - toe[1], top[0] - toe[0])) == pytest.approx(angle, abs=1e-4)
    assert np.array_equal(toe, np.array(shipped.spec.monitor.runup_line[0], float))
    moved = 0  # exactly one vertex of the fixed rock moves, to the new top; every other vertex stays
    for a, b in zip(shipped.spec.blocks, turned.spec.blocks):
        diff = [i for i, (p, q) in enumerate(zip(a.polygon, b.polygon)) if list(p) != list(q)]
        moved += len(diff)
        for i in diff:
            assert np.array_equal(np.array(b.polygon[i], float), top)
    assert moved == 1
    assert bench.flank_sets(path, 30.0) == {}  # the shipped flank runs as shipped


@pytest.mark.parametrize("report", ["vajont_flank.json", "vajont_10block_flank.json"])
def test_committed_report_lists_what_its_runs_show(report):
    path = ROOT / "benchmarks" / "out" / report
    if not path.is_file():
        pytest.skip(f"{report} not committed")
    data = json.loads(path.read_text())
    inside = [r["angle_deg"] for r in data["runs"] if r["ok"] and all(bench.envelope_check(r).values())]
    assert data["all_inside"] == inside
    assert all(r["ok"] for r in data["runs"]), [r.get("error") for r in data["runs"]]
