"""Issue 16, item 4: the data-driven fixed point with a law that has history.

The admissible set of load step k is the manifold of the return mapping from the state of the
last converged step, M_k = {(e, σ(e; q_{k−1}))}; the projector holds q_{k−1} fixed during the
fixed-point iterations and advances it only when the step converges (LawProjector.commit via
DataDrivenProblem.solve_path). On a strip under an end traction (plane strain, J2 with
hardening) loaded past yield, unloaded and reloaded, the data-driven solution must equal the
FEM Newton solution of the same law step by step — both are the compatible, equilibrated
displacement whose quadrature-point stresses lie on M_k — including the residual displacement
after unloading.
"""

import math

import numpy as np
import pytest
import ufl
from mpi4py import MPI

from coupling.solvers.datadriven import DataDrivenProblem, LawProjector
from coupling.solvers.fem.mesh import rectangle
from coupling.solvers.fem.problem import ContinuumProblem, Dirichlet, Traction
from learned.boundary import MeshFacets
from coupling.solvers.fixed_point import Anderson
from learned.plasticity import J2Plasticity

L, HEIGHT = 1.0, 0.25
PATH = [0.3, 0.6, 0.8, 1.0, 0.5, 0.0, 0.5, 1.0, 1.1, 0.0]


def _setup(law, traction):
    bundle = rectangle(MPI.COMM_WORLD, (L, HEIGHT), (6, 2))
    r = bundle.regions
    bcs = [Dirichlet(MeshFacets(r["left"]), ux=0.0), Dirichlet(MeshFacets(r["bottom"]), uy=0.0)]
    tr = [Traction(MeshFacets(r["right"]), value=lambda x: ufl.as_vector([traction, 0.0]))]
    fem_problem = ContinuumProblem(bundle.mesh, law, degree=1, dirichlet=bcs, tractions=tr)
    dd = DataDrivenProblem(bundle.mesh, law.reference_stiffness(), degree=1, dirichlet=bcs, tractions=tr)
    return fem_problem, dd


def test_data_driven_with_history_matches_fem_newton_along_a_loading_unloading_path():
    """Measured: max |u_dd − u_fem| / max |u_fem| = 1.9e-9 over the 10 steps (fixed point
    rtol 1e-11, Anderson(5): 3–124 iterations per step); tolerance 1e-7."""
    law = J2Plasticity(200e9, 0.3, 250e6, hardening=10e9)
    traction = 1.3 * 250e6 / math.sqrt(1 - 0.3 + 0.09)  # 1.3 x the plane-strain uniaxial yield stress
    fem_problem, dd = _setup(law, traction)
    u_fem, u_dd, states = [], [], []
    for lam in PATH:
        fem_problem.solve(load_factors=[lam], rtol=1e-12, atol=1e-14 * traction)
        u_fem.append(fem_problem.u.x.array.copy())
    projector = LawProjector(law, law.reference_stiffness(), tol=1e-13)

    def record(k, result):
        u_dd.append(dd.u.x.array.copy())
        states.append(projector.state.copy())

    results = dd.solve_path(projector, PATH, lambda: Anderson(depth=5), rtol=1e-11, max_iterations=300, on_step=record)
    assert all(r.fixed_point.converged for r in results)
    u_fem, u_dd = np.array(u_fem), np.array(u_dd)
    scale = np.abs(u_fem).max()
    err = np.abs(u_dd - u_fem).max() / scale
    print("max rel. difference", err, "iterations", [r.fixed_point.iterations for r in results])
    assert err < 1e-7
    unloaded = PATH.index(0.0)
    # permanent deformation after unloading, equal in both solvers
    assert np.abs(u_dd[unloaded]).max() > 0.1 * np.abs(u_dd[:unloaded]).max()
    # the state was committed at convergence only: elastic reloading leaves it unchanged
    assert states[unloaded][:, 4].max() > 0
    np.testing.assert_array_equal(states[unloaded], states[unloaded + 1])
    # the final state equals the FEM law state (same quadrature points, same order)
    np.testing.assert_allclose(states[-1], fem_problem.law_state, rtol=0, atol=1e-7 * np.abs(fem_problem.law_state).max())


def test_state_is_not_advanced_by_projections_only():
    """project() never changes the committed state; commit() does (history is explicit)."""
    law = J2Plasticity(200e9, 0.3, 250e6, hardening=10e9)
    projector = LawProjector(law, law.reference_stiffness())
    eps = np.array([[5e-3, 0.0, 0.0], [1e-4, 0.0, 0.0]])
    sig = eps @ law.reference_stiffness().T
    e, _ = projector.project(eps, sig)
    np.testing.assert_array_equal(projector.state, 0.0)
    projector.commit(e)
    assert projector.state[0, 4] > 0 and projector.state[1, 4] == 0  # the first point yielded


# ---------------------------------------------------------------------------- the case kind
J2_PLATE = '{law="j2_plasticity", E=70e9, nu=0.3, yield_stress=200e6, hardening=5e9}'
FEM_SAME_MESH = ["mesh.element_size=0.1", "mesh.hole_element_size=0.02", "fem.degree=2", "fem.newton.rtol=1e-12"]


def _curves(tmp_path, case: str, sets: list[str], tag: str, nproc: int = 1) -> dict:
    import json

    from conftest import CASES, cli_inprocess, run_cli

    out = tmp_path / tag
    args = ["run", str(CASES / f"{case}.toml"), "-o", str(out), "-q"]
    for s in sets:
        args += ["--set", s]
    if nproc == 1:
        code, _, err = cli_inprocess(*args)
    else:
        r = run_cli(*args, nproc=nproc)
        code, err = r.returncode, r.stderr
    assert code == 0, err
    assert (out / "load_displacement.png").is_file()
    return json.loads((out / "summary.json").read_text())


def _max_rel(a: dict, b: dict) -> float:
    ca, cb = a["results"]["load_displacement"], b["results"]["load_displacement"]
    assert ca["load_factor"] == cb["load_factor"]
    return max(float(np.abs(np.subtract(cb["probes"][n], u)).max() / np.abs(u).max()) for n, u in ca["probes"].items())


def _fem_reference(tmp_path) -> dict:
    return _curves(tmp_path, "learned_plasticity_plate", FEM_SAME_MESH + [f"material={J2_PLATE}"], "fem")


@pytest.mark.slow
def test_data_driven_case_with_history_equals_fem_newton(tmp_path):
    """cases/data_driven_plasticity.toml (plate with a hole, load–unload–reload past yield) with
    the analytic J2 law as the manifold (--set data.law): the data-driven solution is the FEM
    Newton solution of that law on the same mesh (P2, 0.1 m, 0.02 m at the hole), step by step.
    Measured max relative difference of the load–displacement curves 1.9e-10 (session 14;
    3.2e-9 on the P1 mesh shipped before; fixed point rtol 1e-10); tolerance 3e-8. The residual displacement after unloading is > 10 % of the peak (it yielded)."""
    fem = _fem_reference(tmp_path)
    exact = _curves(tmp_path, "data_driven_plasticity", [f"data.law={J2_PLATE}"], "dd-analytic")
    steps = exact["solver"]["fixed_point_iterations_per_step"]
    assert len(steps) == len(exact["solver"]["load_path"]) and exact["solver"]["converged"]
    print("max rel. difference", _max_rel(fem, exact), "iterations", steps)
    assert _max_rel(fem, exact) < 3e-8
    curve = fem["results"]["load_displacement"]
    zero = curve["load_factor"].index(0.0)
    u = np.asarray(curve["probes"]["hole_top_displacement"])
    assert abs(u[zero]) > 0.1 * np.abs(u).max()


@pytest.mark.slow
@pytest.mark.timeout(3600)  # the data-driven run: ~35 s at load 2-3 (session 14), 10x that on a loaded machine
def test_data_driven_case_on_the_learned_manifold_with_history_is_within_2_percent(tmp_path):
    """The case as shipped: the manifold is the learned return-mapping checkpoint (trained on J2
    strain paths), its state committed at each converged step; against FEM Newton with the
    analytic law on the same mesh. Measured curve 0.11 %, residual displacement after
    unloading 0.33 % (hole crown; session 14, P2 mesh; 0.075 % and 0.27 % on the P1 mesh shipped
    before); tolerance 2 % (the issue's bound)."""
    fem = _fem_reference(tmp_path)
    learned = _curves(tmp_path, "data_driven_plasticity", [], "dd-learned")
    steps = learned["solver"]["fixed_point_iterations_per_step"]
    assert len(steps) == len(learned["solver"]["load_path"]) and learned["solver"]["converged"]
    curve = fem["results"]["load_displacement"]
    zero = curve["load_factor"].index(0.0)
    u = np.asarray(curve["probes"]["hole_top_displacement"])
    ul = np.asarray(learned["results"]["load_displacement"]["probes"]["hole_top_displacement"])
    residual = abs(ul[zero] - u[zero]) / abs(u[zero])
    print("curve", _max_rel(fem, learned), "residual", residual, "iterations", steps)
    assert _max_rel(fem, learned) < 0.02
    assert residual < 0.02


@pytest.mark.slow
@pytest.mark.mpi
def test_data_driven_case_with_history_two_ranks_match_one(tmp_path):
    """The analytic-law manifold with history under mpiexec -n 2: the same curve as 1 rank
    (both converge to the same fixed point; tolerance 1e-8, 3x the fixed point's rtol bound
    on the difference measured above)."""
    sets = [f"data.law={J2_PLATE}"]
    one = _curves(tmp_path, "data_driven_plasticity", sets, "n1")
    two = _curves(tmp_path, "data_driven_plasticity", sets, "n2", nproc=2)
    assert _max_rel(one, two) < 1e-8


def test_load_path_with_a_discrete_data_set_is_refused():
    """A discrete data set carries no state: fem.load_path is refused there (one line, exit 2)."""
    from conftest import CASES, cli_inprocess

    code, _, err = cli_inprocess("check", str(CASES / "data_driven_plate.toml"), "--set", "fem.load_path=[1.0, 0.0]",
                                 "--set", 'data={kind="discrete", dataset="data/power_law_plate_noisy.h5"}')
    assert code == 2 and "fem.load_path" in err and len(err.strip().splitlines()) == 1, err


def test_data_driven_out_of_plane_stress_is_taken_at_the_committed_state():
    """σzz and von Mises of the data-driven material state (coupling.runners.data_driven.
    _material_stress, what the case's fields, probes and max_von_mises report) use the law state
    the projector committed, not the virgin one: on the strip loaded past yield and unloaded, the
    in-plane stress is ~0 and von Mises is the residual |σzz| (εᵖ_zz ≠ 0 with ε_zz = 0), equal to
    FEM Newton's (coupling.solvers.fem.fields.centroid_stress) per cell. Measured (this path, residual
    von Mises 59 MPa): committed state 1.2e-9 relative (the fixed point's rtol 1e-11), the virgin state
    (the code before session 13) 69 %; tolerance 1e-6."""
    from coupling.runners.data_driven import _material_stress
    from coupling.solvers.fem.fields import centroid_stress

    law = J2Plasticity(200e9, 0.3, 250e6, hardening=10e9)
    traction = 1.3 * 250e6 / math.sqrt(1 - 0.3 + 0.09)
    fem_problem, dd = _setup(law, traction)
    path = [0.5, 1.0, 0.0]
    for lam in path:
        fem_problem.solve(load_factors=[lam], rtol=1e-12, atol=1e-14 * traction)
    projector = LawProjector(law, law.reference_stiffness(), tol=1e-13)
    results = dd.solve_path(projector, path, lambda: Anderson(depth=5), rtol=1e-11, max_iterations=300)
    assert all(r.fixed_point.converged for r in results)
    _, vm_fem, szz_fem = centroid_stress(fem_problem)
    _, vm_dd, szz_dd = _material_stress(dd, law, projector.state)
    _, vm_virgin, _ = _material_stress(dd, law, None)
    scale = np.abs(vm_fem).max()
    assert scale > 0.05 * traction  # a residual σzz after unloading
    err, err_virgin = np.abs(vm_dd - vm_fem).max() / scale, np.abs(vm_virgin - vm_fem).max() / scale
    print("von Mises vs FEM: committed state", err, "virgin state", err_virgin, "scale", scale)
    np.testing.assert_allclose(szz_dd, szz_fem, rtol=0, atol=1e-6 * scale)
    assert err < 1e-6 < 1e-2 < err_virgin
