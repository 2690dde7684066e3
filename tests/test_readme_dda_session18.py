"""The README's session-18 DDA figures are those of the JSON files they cite (a rerun that writes
new JSON, or an edit of the README, without the other fails here)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"


def _readme() -> str:
    return " ".join((ROOT / "README.md").read_text().split())  # line breaks as spaces


def test_two_rank_speedups_quoted_from_their_runs():
    text = _readme()
    rows = [json.loads((OUT / f"dda_ranks_session18_grid100_quiet_{k}.json").read_text())["problems"]["grid100"]
            for k in ("a", "b")]
    one = " / ".join(f"{r['ours']['default']['wall_per_step_s']:.2f}" for r in rows)
    two = " / ".join(f"{r['two_ranks']['wall_per_step_s']:.2f}" for r in rows)
    speed = " / ".join(f"{r['two_ranks']['speedup_wall']:.2f}×" for r in rows)
    assert f"1 rank {one} s/step" in text
    assert f"2 ranks {two} s/step wall" in text
    assert f"**{speed}**" in text
    for r in rows:  # the claim "bitwise equal" and the goal of issue 15 item 3
        assert r["two_ranks"]["max_centroid_difference_m"] == 0.0
        assert r["two_ranks"]["speedup_wall"] >= 1.5


def test_cholesky_ratios_quoted_from_their_run():
    text = _readme()
    probs = json.loads((OUT / "dda_factorisation_ldlt.json").read_text())["problems"]
    ratios = " / ".join(f"{probs[p]['lu_over_cholesky']:.2f}" for p in ("grid10", "grid30", "grid100"))
    assert f"factorisation is {ratios}× faster" in text
    for p in probs.values():
        for kind in ("lu", "cholesky"):
            assert max(r["relative_residual"] for r in p["runs"][kind]) < 1e-10
