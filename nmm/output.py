"""Output: manifold elements as VTU (meshio) and a PNG of the deformed body (matplotlib Agg).

Every integration triangle of every manifold element is written with its own vertex
copies, so the displacement jump across cracks and joints is visible in ParaView.
Fields: point ``displacement`` (3 comps, z = 0) [m]; cell ``stress`` (σ_xx, σ_yy, τ_xy)
[Pa] = element mean, ``von_mises`` [Pa], ``element`` id. Rank 0 writes; writes are atomic
(temporary file in the same folder, then os.replace).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from learned.files import atomic_write
from learned.law import von_mises

from nmm.approximation import shape_functions, value_matrix
from nmm.approximation import element_dofs


def _element_mean(result, values: np.ndarray) -> np.ndarray:
    """Area-weighted mean (nE, k) over every manifold element (all ranks) of (nq_local, k) values."""
    asm = result.model.asm
    nE = result.model.man.n_elements
    w = asm.quad.w
    k = values.shape[1]
    acc = np.zeros((nE, k + 1))
    np.add.at(acc, asm.quad.elem, np.c_[values * w[:, None], w])
    acc = asm.allsum(acc)
    return acc[:, :k] / np.maximum(acc[:, k:], 1e-300)


def element_stress(result) -> np.ndarray:
    """Area-weighted mean stress (nE,3) [Pa] of every manifold element (all ranks)."""
    return _element_mean(result, result.stress_qp)


def element_out_of_plane_stress(result) -> np.ndarray:
    """Area-weighted mean σzz (nE,) [Pa] of every manifold element: the law's σzz at the
    integration-point strains (0 in plane stress, and where the law has no 3D form)."""
    m = result.model
    eps = m.asm.strain(result.u)
    szz = m.law.out_of_plane_stress(eps, result.state if len(result.state) == len(eps) else None)
    szz = np.zeros(len(eps)) if szz is None else np.asarray(szz, dtype=float)
    return _element_mean(result, szz[:, None])[:, 0]


def element_von_mises(result) -> np.ndarray:
    """Von Mises stress (nE,) [Pa] of the element mean stresses, σzz included (plane strain)."""
    return von_mises(element_stress(result), element_out_of_plane_stress(result))


def _triangles(result):
    man, m = result.model.man, result.model
    x = man.sub_xy.reshape(-1, 2)
    e = np.repeat(man.sub_elem, 3)
    N, _ = shape_functions(man, m.order, x, e)
    dofs = element_dofs(man, m.order)[e]
    u = np.einsum("nij,nj->ni", value_matrix(N), result.u[dofs])
    return x, u, man.sub_elem


def write_vtu(result, path: str | Path) -> Path | None:
    """Write the manifold elements with displacement and stress to ``path`` (.vtu)."""
    import meshio

    s = element_stress(result)
    vm = element_von_mises(result)  # collective, like element_stress
    if result.model.comm.rank != 0:
        return None
    x, u, sub_elem = _triangles(result)
    cells = [("triangle", np.arange(len(x)).reshape(-1, 3))]
    mesh = meshio.Mesh(
        np.c_[x, np.zeros(len(x))],
        cells,
        point_data={"displacement": np.c_[u, np.zeros(len(u))]},
        cell_data={"stress": [s[sub_elem]], "von_mises": [vm[sub_elem]], "element": [sub_elem.astype(np.int32)]},
    )
    return atomic_write(Path(path), lambda tmp: meshio.write(tmp, mesh, file_format="vtu"))


def plot_deformed(result, path: str | Path, scale: float | None = None, field: str = "von_mises") -> Path | None:
    """PNG of the deformed body (displacements × scale), coloured by ``field``
    ("von_mises" or "displacement"), with cracks and joints drawn (undeformed, dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    s = element_stress(result)
    vm = element_von_mises(result)  # collective, like element_stress
    if result.model.comm.rank != 0:
        return None
    m = result.model
    x, u, sub_elem = _triangles(result)
    if scale is None:
        umax = np.abs(u).max()
        scale = 0.05 * m.domain.size / umax if umax > 0 else 1.0
    xd = (x + scale * u).reshape(-1, 3, 2)
    vals = vm[sub_elem] if field == "von_mises" else np.linalg.norm(u.reshape(-1, 3, 2), axis=2).mean(1)
    fig, ax = plt.subplots(figsize=(8, 6))
    pc = PolyCollection(xd, array=vals, cmap="viridis", edgecolors="face", linewidths=0.3)
    ax.add_collection(pc)
    fig.colorbar(pc, ax=ax, label="von Mises stress [Pa]" if field == "von_mises" else "|u| [m]")
    for c in [*m.cracks, *m.joints]:
        ax.plot(c.points[:, 0], c.points[:, 1], "r--" if c.kind == "crack" else "k--", lw=1.2)
    for poly in [m.domain.outer, *m.domain.holes]:
        p = np.r_[poly, poly[:1]]
        ax.plot(p[:, 0], p[:, 1], color="0.6", lw=0.6)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.set_title(f"NMM, order {m.order}, deformation x{scale:.3g}")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")

    def save(tmp):
        fig.savefig(tmp, dpi=120, format="png")

    try:
        return atomic_write(Path(path), save)
    finally:
        plt.close(fig)
