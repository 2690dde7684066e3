"""Reporting helpers exist once: von Mises (σzz included in plane strain) and probe entries.

A plane-strain plate in uniaxial tension s (free lateral contraction) has the uniform state
σxx = s, σyy = τxy = 0, σzz = ν s, so σ_vm = s √(1 − ν + ν²) (= 0.889 s for ν = 0.3; the
in-plane-only formula would give s). FEM and NMM reproduce a uniform state exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

import coupling
from coupling.runners.reporting import probe_entry, reference_overrides, relative_error
from learned import LinearElastic
from learned.law import von_mises

S, NU = 10e6, 0.3
EXPECTED = S * np.sqrt(1 - NU + NU**2)

COMMON = f'''
[material]
law = "linear_elastic"
E = 10e9
nu = {NU}
plane = "strain"
[[boundary.dirichlet]]
boundary = "left"
ux = 0.0
[[boundary.dirichlet]]
boundary = "bottom"
uy = 0.0
[[boundary.traction]]
boundary = "right"
traction = [{S}, 0.0]
[[probes]]
name = "vm"
point = [1.0, 0.5]
quantity = "von_mises"
reference = {EXPECTED}
[output]
fields = false
plots = false
'''

CASES = {
    "fem": 'title = "t"\nsolver = "fem"\n[mesh]\nkind = "rectangle"\nsize = [2.0, 1.0]\ncells = [4, 2]\n[fem]\ndegree = 1\n',
    "nmm": 'title = "t"\nsolver = "nmm"\n[domain]\nkind = "rectangle"\nsize = [2.0, 1.0]\n[cover]\nkind = "rectangle"\ncells = [4, 2]\n',
}


def test_von_mises_formula():
    law = LinearElastic(10e9, NU, "strain")
    eps = np.array([[(1 - NU**2) * S / 10e9, -NU * (1 + NU) * S / 10e9, 0.0]])  # uniaxial σxx = s
    stress = np.asarray(law.evaluate(eps).stress)
    szz = np.asarray(law.out_of_plane_stress(eps))
    np.testing.assert_allclose(von_mises(stress, szz), [EXPECTED], rtol=1e-12)
    np.testing.assert_allclose(von_mises(stress), [S], rtol=1e-12)  # σzz = 0: plane stress


@pytest.mark.parametrize("solver", CASES)
def test_max_von_mises_includes_szz_in_plane_strain(tmp_path, solver):
    """The summary's max_von_mises and the von Mises probe agree with s √(1 − ν + ν²) to 1e-6
    (uniform state, reproduced to round-off; the in-plane formula would be 12 % off)."""
    (tmp_path / "case.toml").write_text(CASES[solver] + COMMON)
    results = coupling.run(coupling.load_case(tmp_path / "case.toml")).results
    assert results["max_von_mises"] == pytest.approx(EXPECTED, rel=1e-6)
    assert results["probes"]["vm"]["value"] == pytest.approx(EXPECTED, rel=1e-6)
    assert results["probes"]["vm"]["relative_error"] < 1e-6


def test_probe_entry():
    e = probe_entry((1.0, 2.0), "uy", -2.0, reference=-1.0)
    assert e == {"point": [1.0, 2.0], "quantity": "uy", "value": -2.0, "reference": -1.0, "relative_error": 1.0}
    assert "reference" not in probe_entry((0, 0), "ux", 1.0)
    assert relative_error(0.5, 0.0) is None  # zero reference: undefined (the value is the absolute error)


@pytest.mark.parametrize("overrides, index, expected", [
    ({"mesh.cells": [8, 2], "output.plots": False, "fem.newton.rtol": 1e-10, "cover.cells": [4, 1]}, 0, []),
    ({"nmm.load_steps": 3, "fem.degree": 1, "title": "x", "probes": []}, 0, []),
    ({"material.E": 60e9, "mesh.cells": [8, 2]}, 0, ["material.E"]),
    ({"materials.rock.E": 1e9, "boundary.traction": [], "fem.load_path": [1.0], "mesh.width": 2.0}, 1,
     ["materials.rock.E", "boundary.traction", "fem.load_path", "mesh.width"]),
    ({"material": {"law": "power_law_elastic"}, "probes[0].reference": 1.0}, 0, None),  # the run's own reference
    ({"material.E": 60e9, "probes[0].reference": 1.0}, 1, ["material.E"]),
    ({"probes[1].point": [1.0, 0.0], "probes[1].name": "a"}, 1, ["probes[1].point"]),
    ({"probes[1].point": [1.0, 0.0]}, 0, []),
])
def test_reference_overrides(overrides, index, expected):
    """Which overrides may change the answer a case's probe reference was given for."""
    assert reference_overrides(overrides, index) == expected


@pytest.mark.parametrize("overrides, expected", [
    ({"cover.cells": [10, 40], "sif.r_out": 0.1, "cracks[0].name": "c"}, []),
    ({"material.E": 60e9}, ["material.E"]),
    ({"cracks[0].points": [[0.0, 2.0], [0.5, 2.0]]}, ["cracks[0].points"]),
    ({"cracks[1].points": [[0.0, 1.0], [0.2, 1.0]]}, ["cracks[1].points"]),  # another crack interacts
    ({"cracks[0].points": [[0.0, 2.0], [0.5, 2.0]], "cracks[0].reference_KI": 3.54234e6}, None),  # its own
])
def test_sif_reference_overrides(overrides, expected):
    """Which overrides may change the K a case's crack reference was given for (session 19: the
    crack references were compared whatever the overrides; probes were flagged in session 19 too)."""
    from coupling.runners.reporting import mark_sif_references, sif_reference_overrides

    assert sif_reference_overrides(overrides, 0) == expected
    results = {"sif": [{"crack": 0, "KI": 1.7e6, "KII": 1.0, "reference_KI": 1.6e6, "relative_error_KI": 0.06,
                        "reference_KII": 0.0, "relative_error_KII": 6e-7}]}
    mark_sif_references(overrides, results)
    entry = results["sif"][0]
    assert entry["reference_applies"] is (not expected)
    if expected:
        assert entry["reference_overrides"] == expected
        assert entry["relative_error_KI"] is None and entry["relative_error_KII"] is None
    else:
        assert entry["relative_error_KI"] == 0.06
