"""Output: manifold elements as VTU (meshio) and a PNG of the deformed body (matplotlib Agg).

Every integration triangle of every manifold element is written with its own vertex
copies, so the displacement jump across cracks and joints is visible in ParaView.
Fields: point ``displacement`` (3 comps, z = 0) [m]; cell ``stress_xx``, ``stress_yy``,
``stress_xy`` (τ_xy), ``stress_zz`` (the law's σzz: 0 in plane stress) [Pa] = element mean,
``von_mises`` [Pa] (of those four), ``element`` id. Rank 0 writes; writes are atomic
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


def vtu_mesh(result):
    """The manifold elements as a ``meshio.Mesh`` on rank 0 (None on the others); collective."""
    import meshio

    s = element_stress(result)
    szz = element_out_of_plane_stress(result)  # collective, like element_stress
    vm = von_mises(s, szz)
    if result.model.comm.rank != 0:
        return None
    x, u, sub_elem = _triangles(result)
    cells = [("triangle", np.arange(len(x)).reshape(-1, 3))]
    stress = s[sub_elem]
    return meshio.Mesh(
        np.c_[x, np.zeros(len(x))],
        cells,
        point_data={"displacement": np.c_[u, np.zeros(len(u))]},
        cell_data={"stress_xx": [stress[:, 0]], "stress_yy": [stress[:, 1]], "stress_xy": [stress[:, 2]],
                   "stress_zz": [szz[sub_elem]], "von_mises": [vm[sub_elem]], "element": [sub_elem.astype(np.int32)]},
    )


def write_vtu(result, path: str | Path) -> Path | None:
    """Write the manifold elements with displacement and stress to ``path`` (.vtu)."""
    import meshio

    mesh = vtu_mesh(result)
    if mesh is None:
        return None
    return atomic_write(Path(path), lambda tmp: meshio.write(tmp, mesh, file_format="vtu"))


HOLE_FRACTION = 0.25


def automatic_scale(domain, u: np.ndarray) -> float:
    """The plot's displacement magnification when none is given: the largest displacement
    component max|u| [m] drawn at 5 % of the domain's diagonal, and at most at a quarter of the
    smallest hole's half width w (half its smaller bounding-box side [m]),

        scale = min(0.05 · size, HOLE_FRACTION · w_min) / max|u|,

    so that an opening stays open in the drawing: the jointed tunnel's walls (1.4 mm at 5 % of the
    85 m diagonal: ×3.0e3, 4.2 m > its 3 m radius) crossed each other and closed it. 1 when u = 0."""
    umax = float(np.abs(u).max()) if np.size(u) else 0.0
    if umax <= 0.0:
        return 1.0
    reach = 0.05 * domain.size
    for hole in domain.holes:
        reach = min(reach, HOLE_FRACTION * 0.5 * float(np.ptp(np.asarray(hole, float), axis=0).min()))
    return reach / umax


def plot_deformed(result, path: str | Path, scale: float | None = None, field: str = "von_mises",
                  title: str = "", percentile: float = 99.5, exclude=(), reported_max: float | None = None) -> Path | None:
    """PNG of the deformed body (displacements × scale; automatic: :func:`automatic_scale`),
    coloured by ``field`` ("von_mises" [MPa] or "displacement" [mm]), with cracks and joints drawn
    (undeformed, dashed).

    The colour range stops at the ``percentile``-th percentile of the element values when the
    maximum lies more than 5 % above it (a crack tip is singular: its elements would take the
    whole range); the colour bar then has an arrow and the title gives the true maximum.
    ``exclude`` (the case's ``output.stress_maxima_exclude`` discs: objects with ``center`` [m] and
    ``radius`` [m]) are drawn as dotted circles (undeformed) and the title gives ``reported_max``
    [Pa], the summary's ``max_von_mises`` over what lies outside them, beside the largest element value."""
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
        scale = automatic_scale(m.domain, u)
    xd = (x + scale * u).reshape(-1, 3, 2)
    if field == "von_mises":
        vals, label, unit = vm[sub_elem] * 1e-6, "von Mises stress [MPa]", "MPa"
    else:
        vals, label, unit = np.linalg.norm(u.reshape(-1, 3, 2), axis=2).mean(1) * 1e3, "|u| [mm]", "mm"
    top, cap = float(vals.max()), float(np.percentile(vals, percentile))
    clipped = top > 1.05 * cap and cap > vals.min()
    span = np.ptp(xd.reshape(-1, 2), axis=0)
    aspect = span[0] / max(span[1], 1e-300)
    size = (9.0, max(3.5, 9.0 / aspect * 0.8 + 1.5)) if aspect >= 1 else (max(5.0, 6.0 * aspect + 3.5), 7.0)
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    pc = PolyCollection(xd, array=vals, cmap="viridis", edgecolors="face", linewidths=0.3)
    pc.set_clim(float(vals.min()), cap if clipped else top)
    ax.add_collection(pc)
    fig.colorbar(pc, ax=ax, label=label, extend="max" if clipped else "neither")
    for c in [*m.cracks, *m.joints]:
        ax.plot(c.points[:, 0], c.points[:, 1], "r--" if c.kind == "crack" else "k--", lw=1.2)
    for poly in [m.domain.outer, *m.domain.holes]:
        p = np.r_[poly, poly[:1]]
        ax.plot(p[:, 0], p[:, 1], color="0.6", lw=0.6)
    ax.set_aspect("equal")
    ax.autoscale_view()
    k = int(np.argmax(vals))
    where = x.reshape(-1, 3, 2)[k].mean(axis=0)  # where the element is, not where the magnified drawing puts it
    note = f"max {top:.4g} {unit} near ({where[0]:.3g}, {where[1]:.3g}) m"
    for d in exclude:
        ax.add_patch(plt.Circle(tuple(d.center), d.radius, fill=False, ls=":", lw=1.0, color="C3"))
    if exclude and reported_max is not None and field == "von_mises":
        note += (f"; outside the excluded disc{'s' if len(exclude) > 1 else ''} (red dotted): "
                 f"{reported_max * 1e-6:.4g} {unit} (summary max_von_mises)")
    if clipped:
        note += f"\ncolours capped at the {percentile:g}th percentile ({cap:.4g} {unit})"
    ax.set_title((f"{title}\n" if title else "") + f"NMM order {m.order}, deformation ×{scale:.3g}\n{note}", fontsize=9)
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")

    def save(tmp):
        fig.savefig(tmp, dpi=120, format="png")

    try:
        return atomic_write(Path(path), save)
    finally:
        plt.close(fig)
