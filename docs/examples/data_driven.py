"""Data-driven solver: the classical discrete data set converges to the law that made it.

A quarter plate with a hole (P1, a coarse gmsh mesh) in plane stress under 50 MPa of remote
tension, made of the power-law elastic material of `cases/learned_plate.toml`. The reference is
the FEM Newton solve with that law. The data-driven solver (Kirchdoerfer & Ortiz 2016) never
sees the law: it finds the compatible, equilibrated states nearest to material data, here N
noise-free samples (ε_i, σ_i) of the law (log-uniform in strain magnitude up to 3e-3), projected by nearest neighbour in the
metric ½|ε − e|²_C + ½|σ − s|²_{C⁻¹} (KD-tree), and iterated to its fixed point (Anderson).
The displacement error ‖u_dd − u_FEM‖ / ‖u_FEM‖ falls as the data fill strain space (the
printed slope of log error against log N; about −0.5 here); projecting on the law itself (the continuous manifold, Gauss–Newton)
is the N → ∞ limit. The figure plots the error against N.

    python docs/examples/data_driven.py [--figures DIR]        (~15 s)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mpi4py import MPI
import numpy as np
import ufl

from coupling.solvers.datadriven import DataDrivenProblem, LawProjector, NearestDataProjector
from coupling.solvers.fem.mesh import plate_with_hole
from coupling.solvers.fem.problem import ContinuumProblem, Dirichlet, Traction
from learned.boundary import MeshFacets
from coupling.solvers.fixed_point import Anderson
from learned import PowerLawElastic
from learned.dataset import generate_dataset


def figure_dir() -> Path:
    """--figures DIR, else $DEEPMANIFOLD_FIGURES, else docs/examples/figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--figures", default=os.environ.get("DEEPMANIFOLD_FIGURES", Path(__file__).parent / "figures"))
    d = Path(p.parse_args().figures)
    d.mkdir(parents=True, exist_ok=True)
    return d


def main() -> None:
    out = figure_dir()
    law = PowerLawElastic(E=70e9, nu=0.33, strain0=1e-3, exponent=0.5, plane="stress")
    mesh = plate_with_hole(MPI.COMM_SELF, width=2.0, height=4.0, radius=0.1, element_size=0.3,
                           hole_element_size=0.03)
    R = mesh.regions
    bcs = [Dirichlet(MeshFacets(R["left"]), ux=0.0), Dirichlet(MeshFacets(R["bottom"]), uy=0.0)]
    loads = [Traction(MeshFacets(R["top"]), value=lambda x: ufl.as_vector([0.0, 50e6]))]      # Pa

    fem_u = ContinuumProblem(mesh.mesh, law, degree=1, dirichlet=bcs, tractions=loads).solve(load_steps=2)
    u_ref = fem_u.displacement.x.array.copy()                               # (2 n_nodes,) m

    C = law.reference_stiffness()                                            # (3,3) Pa: the metric
    problem = DataDrivenProblem(mesh.mesh, C, degree=1, dirichlet=bcs, tractions=loads)

    def error(projector) -> float:
        problem.solve(projector, Anderson(depth=5), rtol=1e-8, max_iterations=300)
        return float(np.linalg.norm(problem.u.x.array - u_ref) / np.linalg.norm(u_ref))

    sizes = [1000, 10000, 100000]
    errors = []
    for n in sizes:
        data = generate_dataset(law, n, strain_range=3e-3, seed=1, sampler="log")  # noise-free samples
        errors.append(error(NearestDataProjector(data.strain, data.stress, C)))
        print(f"result error_discrete_{n} = {errors[-1]:.3e}")
    manifold = error(LawProjector(law, C))
    print(f"result error_manifold = {manifold:.3e}")
    slope = np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    print(f"result discrete_convergence_slope = {slope:.3f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    ax.loglog(sizes, errors, "C0o-", label=f"nearest data point (slope {slope:.2f})")
    ax.axhline(max(manifold, 1e-12), color="C2", ls="--", label="projection onto the law (N → ∞)")
    ax.set(xlabel="data points N", ylabel="‖u_dd − u_FEM‖ / ‖u_FEM‖",
           title="data-driven solver, plate with a hole, 50 MPa")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "data_driven.png")
    print(f"figure {out / 'data_driven.png'}")


if __name__ == "__main__":
    main()
