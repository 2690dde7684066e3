"""The shipped tunnel's cover resolves the stresses the case reports (issue 13, item 8).

The same tunnel as cases/nmm_jointed_tunnel.toml without joints and gravity, in a uniform
in-situ stress (σ_v = −2.55 MPa, σ_h = K0 σ_v, K0 = 0.5), has Kirsch's solution (infinite
plate, plane strain), hoop stress at radius r and angle θ from the x axis:

    σ_θθ = (σ_h + σ_v)/2 (1 + a²/r²) − (σ_h − σ_v)/2 (1 + 3a⁴/r⁴) cos 2θ      [Pa]

Measured on the shipped cover (h = a/60 at the wall, since session 14) at r = a + a/20,
θ = 0, 30, 45, 60, 90°: ≤ 0.90 % of the local Kirsch value (the former cover, h = a/30: 1.1 %;
the graded tensor cover before it: up to 7.3 %), and ≤ 0.08 % from a run on a cover twice as fine
at the wall (h = a/120, slope 0.1: 39,470 triangles; tools/tunnel_cover.py), so the rest is the
rollers 10 radii away. Tolerances: 2 % against Kirsch (the issue's resolution target; measured
0.90 %), 0.5 % against the refined run (6x the measured 0.08 %).
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

import coupling
from conftest import CASES, ROOT

TUNNEL = CASES / "nmm_jointed_tunnel.toml"
A, R = 3.0, 3.15
THETAS = np.radians([0.0, 30.0, 45.0, 60.0, 90.0])
SV, K0 = -2.55e6, 0.5


def hoop_stresses(cover: dict | None = None) -> np.ndarray:
    """σ_θθ [Pa] at (R, θ) for THETAS, unjointed uniform-stress variant of the shipped case."""
    probes = [{"name": f"p{k}_{q}", "point": [R * np.cos(t), R * np.sin(t)], "quantity": q}
              for k, t in enumerate(THETAS) for q in ("sxx", "syy", "sxy")]
    over = {"joints": [], "gravity": [0.0, 0.0], "output.plots": False, "output.fields": False, "probes": probes,
            "initial_stress": {"kind": "geostatic", "surface": 100.0, "k0": K0, "unit_weight": 0.0, "surcharge": -SV}}
    if cover is not None:
        over["cover"] = cover
    p = coupling.run(coupling.load_case(TUNNEL, over)).results["probes"]
    s, c = np.sin(THETAS), np.cos(THETAS)
    v = {q: np.array([p[f"p{k}_{q}"]["value"] for k in range(len(THETAS))]) for q in ("sxx", "syy", "sxy")}
    return v["sxx"] * s**2 + v["syy"] * c**2 - 2 * v["sxy"] * s * c


def kirsch() -> np.ndarray:
    sh = K0 * SV
    return (sh + SV) / 2 * (1 + A**2 / R**2) - (sh - SV) / 2 * (1 + 3 * A**4 / R**4) * np.cos(2 * THETAS)


@pytest.mark.slow
def test_shipped_cover_resolves_the_hoop_stress(tmp_path):
    shipped = hoop_stresses()
    ref = kirsch()
    assert np.all(np.abs(shipped - ref) <= 0.02 * np.abs(ref)), (shipped - ref) / np.abs(ref)
    spec = importlib.util.spec_from_file_location("tunnel_cover", ROOT / "tools" / "tunnel_cover.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    fine = tmp_path / "fine.msh"
    tool.write_cover(fine, h_wall=0.025, slope=0.1)
    refined = hoop_stresses({"kind": "file", "path": str(fine)})
    assert np.all(np.abs(shipped - refined) <= 0.005 * np.abs(refined)), (shipped - refined) / np.abs(refined)
