"""FEM result files: XDMF fields for ParaView and a PNG of the deformed shape."""

from __future__ import annotations

from pathlib import Path

import dolfinx_solver  # noqa: F401
import numpy as np
from dolfinx import fem
from dolfinx.io import XDMFFile

from coupling.solvers.fem.problem import ContinuumProblem


def _p1_displacement(problem: ContinuumProblem) -> fem.Function:
    if problem.degree == 1:
        return problem.u
    V1 = fem.functionspace(problem.mesh, ("Lagrange", 1, (2,)))
    u1 = fem.Function(V1, name="displacement")
    u1.interpolate(problem.u)
    return u1


def write_fields(problem: ContinuumProblem, path: Path, stress: fem.Function, vm: fem.Function) -> None:
    """displacement (P1), stress (σxx, σyy, τxy per cell) and von Mises in one XDMF file."""
    with XDMFFile(problem.mesh.comm, str(path), "w") as f:
        f.write_mesh(problem.mesh)
        f.write_function(_p1_displacement(problem))
        f.write_function(stress)
        f.write_function(vm)


def plot_deformed(problem: ContinuumProblem, vm: fem.Function, path: Path, title: str,
                  scale: float | None = None) -> float:
    """Deformed mesh coloured by von Mises stress (rank 0 writes); returns the scale used."""
    mesh, comm = problem.mesh, problem.mesh.comm
    u1 = _p1_displacement(problem)
    V1 = u1.function_space
    n_own = mesh.topology.index_map(2).size_local
    tri = V1.dofmap.list[:n_own]
    xy = V1.tabulate_dof_coordinates()[:, :2][tri]  # (n, 3, 2)
    uv = u1.x.array.reshape(-1, 2)[tri]
    vals = vm.x.array[vm.function_space.dofmap.list[:n_own, 0]]
    gathered = comm.gather((xy, uv, vals), root=0)
    if comm.rank != 0:
        return comm.bcast(None, root=0)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    xy = np.concatenate([g[0] for g in gathered])
    uv = np.concatenate([g[1] for g in gathered])
    vals = np.concatenate([g[2] for g in gathered])
    extent = np.ptp(xy.reshape(-1, 2), axis=0).max()
    umax = np.abs(uv).max()
    if scale is None:
        scale = 0.1 * extent / umax if umax > 0 else 1.0
    span = np.ptp(xy.reshape(-1, 2), axis=0)
    aspect = span[0] / max(span[1], 1e-300)
    size = (9.0, max(3.0, 9.0 / aspect * 0.8 + 1.2)) if aspect >= 1 else (max(4.0, 6.0 * aspect + 2.5), 6.0)
    fig, ax = plt.subplots(figsize=size, dpi=120)
    ax.add_collection(PolyCollection(xy, facecolors="none", edgecolors="0.8", linewidths=0.3))
    polys = PolyCollection(xy + scale * uv, array=vals / 1e6, cmap="viridis", edgecolors="face", linewidths=0.1)
    ax.add_collection(polys)
    fig.colorbar(polys, ax=ax, label="von Mises stress [MPa]")
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.set_title(f"{title}\ndeformed shape ×{scale:.3g} (grey: undeformed)")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return comm.bcast(scale, root=0)
