"""The FEM continuum under mpiexec -n 2 matches one rank."""

import pytest

from conftest import summaries_on_ranks


@pytest.mark.mpi
@pytest.mark.parametrize("case,sets", [
    ("cantilever", ["mesh.cells=[40, 4]"]),
    ("cantilever", ["mesh.cells=[40, 4]", 'material={law="power_law_elastic", E=30e9, nu=0.25, strain0=1e-4, exponent=0.5, plane="stress"}']),
    ("plate_hole", ["mesh.element_size=0.15", "mesh.hole_element_size=0.02"]),
])
def test_two_ranks_match_one(tmp_path, case, sets):
    outs = summaries_on_ranks(tmp_path, case, sets)
    assert outs[1]["solver"]["dofs"] == outs[2]["solver"]["dofs"]
    assert outs[1]["solver"]["newton_iterations"] == outs[2]["solver"]["newton_iterations"]
    for name, p1 in outs[1]["results"]["probes"].items():
        p2 = outs[2]["results"]["probes"][name]
        assert p2["value"] == pytest.approx(p1["value"], rel=1e-8)
    assert outs[2]["results"]["max_abs_displacement"] == pytest.approx(outs[1]["results"]["max_abs_displacement"], rel=1e-8)
