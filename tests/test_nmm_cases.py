"""NMM case files (solver = "nmm"): shipped cases against their references, in-situ stress,
2 ranks vs 1, output files, and bad input (one line, exit 2, no traceback, no output)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import coupling
from conftest import CASES, assert_one_line_error, run_cli

CANTILEVER = CASES / "nmm_cantilever.toml"
EDGE_CRACK = CASES / "nmm_edge_crack.toml"
TUNNEL = CASES / "nmm_jointed_tunnel.toml"


def handbook_KI(ab: float, sigma: float = 1e6, b: float = 1.0) -> float:
    """K_I = f σ √(πa), f = 1.12 − 0.231(a/b) + 10.55(a/b)² − 21.72(a/b)³ + 30.39(a/b)⁴."""
    f = 1.12 - 0.231 * ab + 10.55 * ab**2 - 21.72 * ab**3 + 30.39 * ab**4
    return f * sigma * np.sqrt(np.pi * ab * b)


def edge_crack_overrides(ab: float) -> list[str]:
    return [f"cracks[0].points=[[0.0, 2.0], [{ab}, 2.0]]", f"cracks[0].reference_KI={handbook_KI(ab)}"]


# ---------------------------------------------------------------------------- references
def test_cantilever_tip_deflection_within_1_percent():
    result = coupling.run(coupling.load_case(CANTILEVER, ["output.plots=false", "output.fields=false"]))
    tip = result.results["probes"]["tip_deflection"]
    assert tip["reference"] == pytest.approx(-1.34208e-2)
    assert tip["relative_error"] < 0.01, tip
    solver = result.summary["solver"]
    assert solver["kind"] == "nmm" and solver["order"] == 1 and solver["newton_iterations"] == 1
    for key in ("dofs", "covers", "manifold_elements", "time_solve_s", "mpi_ranks"):
        assert key in solver


@pytest.mark.parametrize("ab", [0.3, 0.5])
def test_edge_crack_KI_within_5_percent(ab):
    case = coupling.load_case(EDGE_CRACK, edge_crack_overrides(ab) + ["output.plots=false", "output.fields=false"])
    (sif,) = coupling.run(case).results["sif"]
    assert sif["tip"] == pytest.approx([ab, 2.0])
    assert sif["reference_KI"] == pytest.approx(handbook_KI(ab))
    assert sif["relative_error_KI"] < 0.05, sif
    assert abs(sif["KII"]) < 0.02 * sif["KI"]


def test_jointed_tunnel_joints_slide():
    result = coupling.run(coupling.load_case(TUNNEL, ["output.plots=false", "output.fields=false"]))
    r = result.results
    assert r["converged_load_factor"] == 1.0
    assert r["relative_residual"] < 1e-6  # equilibrium (friction is a fixed point: 1e-7)
    joints = r["joints"]
    assert len(joints) == 2
    assert sum(j["slide"] for j in joints) > 0
    assert max(j["max_slip_sliding"] for j in joints) > 1e-5  # m: sliding, not spring stretch
    assert all(j["max_normal_stress"] > 0 for j in joints)  # joints stay clamped
    (hole,) = r["holes"]
    # Kirsch order of magnitude: u_r = p a / 2G = 0.72 mm; K0 = 0.5 closes the tunnel vertically
    assert 0 < hole["horizontal_convergence"] < hole["vertical_convergence"] < 5e-3
    assert r["probes"]["crown_settlement"]["value"] < 0
    assert result.summary["solver"]["contact"]["slide"] > 0


def test_in_situ_stress_alone_moves_nothing_and_excavation_matches_kirsch():
    """Geostatic σ₀ in equilibrium with gravity and the top traction: u = 0 without the
    hole. Hydrostatic p, no gravity: radial wall displacement p a / 2G (Kirsch, plane strain)."""
    off = ["output.plots=false", "output.fields=false", "joints=[]", "probes=[]"]
    result = coupling.run(coupling.load_case(TUNNEL, off + ["domain.holes=[]"]))
    assert result.results["max_abs_displacement"] < 1e-12
    p, a, E, nu = 2e6, 3.0, 10e9, 0.25
    kirsch = p * a * (1 + nu) / E
    hydro = ['initial_stress={kind="geostatic", surface=100.0, k0=1.0, unit_weight=0.0, surcharge=2e6}',
             "gravity=[0.0, 0.0]", "boundary.traction=[]",  # outer boundary fixed at 10 radii: -1 %
             'boundary.dirichlet=[{boundary="outer", ux=0.0, uy=0.0}]']
    (hole,) = coupling.run(coupling.load_case(TUNNEL, off + hydro)).results["holes"]
    assert hole["max_inward_displacement"] == pytest.approx(kirsch, rel=0.03)
    assert hole["horizontal_convergence"] == pytest.approx(2 * kirsch, rel=0.03)


# ---------------------------------------------------------------------------- CLI, files, MPI
def _summary(out):
    return json.loads((out / "summary.json").read_text())


def test_cli_files_and_two_ranks_equal_one(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    r1 = run_cli("run", str(EDGE_CRACK), "-o", str(one), "-q")
    assert r1.returncode == 0, r1.stderr
    r2 = run_cli("run", str(EDGE_CRACK), "-o", str(two), "-q", "--set", "output.plots=false", nproc=2)
    assert r2.returncode == 0, r2.stderr
    s1, s2 = _summary(one), _summary(two)
    assert s1["solver"]["mpi_ranks"] == 1 and s2["solver"]["mpi_ranks"] == 2
    k1, k2 = s1["results"]["sif"][0]["KI"], s2["results"]["sif"][0]["KI"]
    assert abs(k1 / k2 - 1) < 1e-8
    for name, p in s1["results"]["probes"].items():
        assert abs(p["value"] - s2["results"]["probes"][name]["value"]) <= 1e-8 * abs(p["value"])
    # files: VTU of the manifold elements (jump across the crack visible), PNG
    assert s1["files"] == ["summary.json", "run.log", "fields.pvd", "fields/", "deformed.png"]
    assert (one / "deformed.png").read_bytes()[:4] == b"\x89PNG"
    import meshio

    m = meshio.read(one / "fields" / "fields_0000.vtu")
    x, u = m.points[:, :2], m.point_data["displacement"]
    on_face = (np.abs(x[:, 1] - 2.0) < 1e-12) & (x[:, 0] < 0.25)  # vertex copies on the crack faces
    assert u[on_face, 1].max() - u[on_face, 1].min() > 1e-5  # the faces open
    assert {"stress_xx", "stress_yy", "stress_xy", "von_mises"} <= set(m.cell_data)


# ---------------------------------------------------------------------------- bad input
BASE = EDGE_CRACK.read_text()


def check_error(tmp_path, text: str, *expected: str, extra=(), files=("case.toml",)):
    return assert_one_line_error(tmp_path, text, *expected, extra=extra, files=files)


@pytest.mark.parametrize("old,new,expected", [
    ("points = [[0.0, 2.0], [0.3, 2.0]]", "points = [[0.0, 2.0], [1.3, 2.0]]", ("cracks[0].points", "outside the domain")),
    ("points = [[0.0, 2.0], [0.3, 2.0]]", "points = [[0.2, 2.0], [0.2, 2.0]]", ("cracks[0].points", "zero-length")),
    ("points = [[0.0, 2.0], [0.3, 2.0]]", "pionts = [[0.0, 2.0], [0.3, 2.0]]", ("cracks[0].pionts", "did you mean 'points'")),
    ("order = 1", "order = 2", ("nmm.order", "found 2", "0 or 1")),
    ('boundary = "top"', 'boundary = "west"', ("boundary.traction[0].boundary", "'west'", "left | right")),
    ('name = "crack_mouth_opening_upper"\npoint = [0.0, 2.0001]', 'name = "m"\npoint = [2.0, 2.0]',
     ("probes[0].point", "outside the domain")),
])
def test_bad_input(tmp_path, old, new, expected):
    assert old in BASE
    check_error(tmp_path, BASE.replace(old, new, 1), *expected)


def test_joint_outside_domain(tmp_path):
    text = BASE + '\n[[joints]]\npoints = [[-0.5, 1.0], [0.5, 1.0]]\nlaw = { kind = "coulomb", phi = 30.0 }\n'
    check_error(tmp_path, text, "joints[0].points", "outside the domain")


def test_unknown_joint_law(tmp_path):
    text = BASE + '\n[[joints]]\npoints = [[0.1, 1.0], [0.5, 1.0]]\nlaw = { kind = "glue", phi = 30.0 }\n'
    check_error(tmp_path, text, "joints[0].law.kind", "'glue'", "coulomb | displacement_weakening | velocity_weakening")


def test_degenerate_cover_triangle(tmp_path):
    import meshio

    pts = np.array([[0, 0], [1, 0], [1, 4], [0, 4], [0.5, 0]], float)
    tris = np.array([[0, 1, 2], [0, 2, 3], [0, 4, 1]])  # the last one has zero area
    meshio.write(tmp_path / "cover.msh", meshio.Mesh(pts, [("triangle", tris)]), file_format="gmsh22", binary=False)
    text = BASE.replace('kind = "graded"', 'kind = "file"\npath = "cover.msh"')
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("h_min", "h_max", "growth")))
    check_error(tmp_path, text, "cover.path", "degenerate triangle", files=("case.toml", "cover.msh"))


# ---------------------------------------------------------------------------- dynamics
def test_dynamic_sliding_on_a_joint():
    """Upper block pushed along a Coulomb joint (shear as a body force, no overturning):
    it slides with a = (F − μ N)/m; the joint law sees the slip rate |Δg_t|/Δt."""
    import nmm
    from learned import CoulombFriction, LinearElastic

    phi, p, tau, rho = 20.0, 1e5, 0.6e5, 2000.0
    joint = nmm.Joint([[0, 0.5], [1, 0.5]], law=CoulombFriction(phi))
    m = nmm.ManifoldModel(nmm.Domain.rectangle(0, 0, 1, 1), nmm.CoverMesh.rectangle(0, 0, 1, 1, 6, 6),
                          joints=[joint], law=LinearElastic(1e9, 0.25, "stress"), order=1, density=rho)
    m.add(nmm.Dirichlet(((0, 0), (1, 0)), ux=0.0, uy=0.0), nmm.Traction(((0, 1), (1, 1)), value=(0.0, -p)))
    m.set_body_force(b=(tau / 0.5, 0.0))
    r = m.solve_dynamic(dt=2e-3, n_steps=20, probes=np.array([[0.5, 0.9]]))
    a = (tau - np.tan(np.radians(phi)) * p) / (rho * 0.5)
    t, ux = r.history["time"], r.history["probes"][:, 0, 0]
    assert m.contact.summary()["slide"] == m.contact.summary()["points"]
    assert ux[-1] == pytest.approx(0.5 * a * t[-1] ** 2, rel=0.1)  # + elastic shear of the blocks
    assert m.contact.slip_rate.min() > 0.5 * a * t[-1]
