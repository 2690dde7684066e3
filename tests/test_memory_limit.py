"""Memory estimates (coupling.limits): a solve that cannot fit is refused before allocation,
with the estimate in the message; the case can raise the limit."""

import pytest

from conftest import CASES
from coupling.case.loader import load_case
from coupling.errors import CaseError
from coupling.limits import check_limits, estimate_memory, machine_memory


def test_a_solve_larger_than_this_machine_is_refused_with_the_estimate():
    if machine_memory() is None:
        pytest.skip("the OS does not report its memory")
    # 18 million P2 cells (max_cells raised): about 7e7 unknowns, hundreds of GB with LU factors
    case = load_case(CASES / "cantilever.toml", ["mesh.cells=[3000, 3000]", "limits.max_cells=100000000"])
    need, nnz = estimate_memory(case, 2 * 3000 * 3000)
    assert need > 10 * machine_memory()
    with pytest.raises(CaseError) as err:
        check_limits(case)
    line = err.value.line()
    assert "mesh.cells" in line and f"{need / 1e9:.3g} GB" in line and "this machine" in line
    assert "limits.max_memory_gb" in line
    raised = load_case(CASES / "cantilever.toml", ["mesh.cells=[3000, 3000]", "limits.max_cells=100000000",
                                                   f"limits.max_memory_gb={2 * need / 1e9}"])
    assert check_limits(raised)["memory_bytes"] == pytest.approx(need)


def test_the_unknowns_of_the_estimate_follow_the_mesh():
    """The shipped cantilever (P2): the estimate's N = k² n_c unknowns against the dofs the
    set-up builds (measured 6 % below: the boundary nodes); tolerance 20 %."""
    import coupling

    case = load_case(CASES / "cantilever.toml")
    size = coupling.run(case, check=True).summary["size"]
    _, nnz = estimate_memory(case, size["cells"])
    unknowns = nnz / 38  # 2(3k² + 3k + 1) nonzeros per row for k = 2
    assert unknowns == pytest.approx(size["dofs"], rel=0.2)


@pytest.mark.parametrize("case,key,cells", [("footing", "mesh.path", 2201), ("nmm_jointed_tunnel", "cover.path", 14532)])
def test_limits_apply_to_a_mesh_or_cover_read_from_a_file(case, key, cells):
    """A mesh / cover file has no size formula: [limits] used to be ignored for it (check and run
    went ahead with limits.max_cells = 10); its counted cells are now held against max_cells and
    the memory estimate once it is read, before the solve."""
    import coupling

    with pytest.raises(CaseError) as err:
        coupling.run(case, overrides={"limits.max_cells": cells - 1}, check=True)
    line = err.value.line()
    assert key in line and f"{cells:,} cells in the mesh file" in line and "limits.max_cells" in line
    with pytest.raises(CaseError) as err:
        coupling.run(case, overrides={"limits.max_memory_gb": 1e-3}, check=True)
    assert key in err.value.line() and "limits.max_memory_gb" in err.value.line()
    assert coupling.run(case, overrides={"limits.max_cells": cells}, check=True).status == "checked"
