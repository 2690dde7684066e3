"""The mathematical cover mesh: a triangle mesh whose vertex stars are the mathematical covers.

The mesh need not follow the domain boundary, cracks or joints; it only has to cover Ω.
Each vertex i carries the P1 hat function w_i (a partition of unity, Σ w_i = 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from nmm.errors import InputError


class CoverMesh:
    """Triangle mesh: ``points`` (nv,2) [m], ``triangles`` (nt,3) vertex indices.

    Triangles are re-oriented counter-clockwise; degenerate triangles raise InputError.
    """

    def __init__(self, points: np.ndarray, triangles: np.ndarray) -> None:
        p = np.asarray(points, dtype=float)
        t = np.asarray(triangles)
        if p.ndim != 2 or p.shape[1] < 2 or len(p) < 3:
            raise InputError("mesh.points", f"shape {p.shape}", "an (n>=3, 2) array of coordinates [m]")
        p = np.ascontiguousarray(p[:, :2])
        if not np.all(np.isfinite(p)):
            raise InputError("mesh.points", "non-finite coordinates", "finite numbers")
        if t.ndim != 2 or t.shape[1] != 3 or len(t) == 0:
            raise InputError("mesh.triangles", f"shape {t.shape}", "an (n>=1, 3) integer array")
        if not np.issubdtype(t.dtype, np.integer) or t.min() < 0 or t.max() >= len(p):
            raise InputError("mesh.triangles", "indices out of range", f"integers in [0, {len(p) - 1}]")
        t = t.astype(np.int64).copy()
        v = p[t]
        area2 = (v[:, 1, 0] - v[:, 0, 0]) * (v[:, 2, 1] - v[:, 0, 1]) - (v[:, 2, 0] - v[:, 0, 0]) * (
            v[:, 1, 1] - v[:, 0, 1]
        )
        scale = np.max(np.linalg.norm(v - np.roll(v, 1, axis=1), axis=2), axis=1)
        bad = np.abs(area2) <= 1e-12 * scale**2
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"mesh.triangles[{k}]",
                f"degenerate triangle {t[k].tolist()} (area {0.5 * abs(area2[k]):.3g} m^2)",
                "triangles with positive area",
            )
        neg = area2 < 0
        t[neg] = t[neg][:, [0, 2, 1]]
        self.points, self.triangles = p, t
        self.area = 0.5 * np.abs(area2)
        v = p[t]
        # barycentric gradients ∇λ_k (nt,3,2): ∇λ_k = rot(x_{k+2} − x_{k+1}) / 2A
        e = np.roll(v, -2, axis=1) - np.roll(v, -1, axis=1)  # x_{k+2} - x_{k+1}
        self.grad_lambda = np.stack([-e[..., 1], e[..., 0]], axis=-1) / (2 * self.area[:, None, None])
        # cover scale h_i [m]: largest edge length touching vertex i
        ed = np.linalg.norm(v - np.roll(v, 1, axis=1), axis=2)
        h = np.zeros(len(p))
        for k in range(3):
            np.maximum.at(h, t[:, k], np.maximum(ed[:, k], ed[:, (k + 1) % 3]))
        self.vertex_scale = np.where(h > 0, h, 1.0)
        self.h_max = float(ed.max())

    # ------------------------------------------------------------------ generators
    @classmethod
    def rectangle(cls, x0: float, y0: float, x1: float, y1: float, nx: int, ny: int, diagonal: str = "alternate") -> "CoverMesh":
        """Structured mesh of [x0,x1]×[y0,y1] with nx×ny squares split in two triangles."""
        if nx < 1 or ny < 1:
            raise InputError("mesh.n", f"nx={nx}, ny={ny}", "integers >= 1")
        return cls.from_grid(np.linspace(x0, x1, nx + 1), np.linspace(y0, y1, ny + 1), diagonal)

    @classmethod
    def from_grid(cls, xs: Sequence[float], ys: Sequence[float], diagonal: str = "alternate") -> "CoverMesh":
        """Tensor-product mesh on strictly increasing coordinates xs, ys (graded meshes)."""
        xs, ys = np.asarray(xs, float), np.asarray(ys, float)
        if len(xs) < 2 or len(ys) < 2 or np.any(np.diff(xs) <= 0) or np.any(np.diff(ys) <= 0):
            raise InputError("mesh.grid", "non-increasing coordinates", "strictly increasing xs and ys")
        X, Y = np.meshgrid(xs, ys)
        pts = np.c_[X.ravel(), Y.ravel()]
        nx, ny = len(xs) - 1, len(ys) - 1
        i, j = np.meshgrid(np.arange(nx), np.arange(ny))
        i, j = i.ravel(), j.ravel()
        a = j * (nx + 1) + i
        b, c, d = a + 1, a + nx + 2, a + nx + 1
        flip = ((i + j) % 2 == 1) if diagonal == "alternate" else np.zeros_like(i, bool)
        t1 = np.where(flip[:, None], np.c_[a, b, d], np.c_[a, b, c])
        t2 = np.where(flip[:, None], np.c_[b, c, d], np.c_[a, c, d])
        return cls(pts, np.r_[t1, t2])

    @classmethod
    def read(cls, path: str | Path) -> "CoverMesh":
        """Read the triangles of a mesh file with meshio (any format meshio reads)."""
        import meshio

        try:
            m = meshio.read(path)
        except Exception as exc:  # noqa: BLE001 — reported as input error
            raise InputError("mesh.file", f"{path}: {exc}", "a mesh file meshio can read") from None
        tris = [c.data for c in m.cells if c.type == "triangle"]
        if not tris:
            raise InputError("mesh.file", f"{path} has no triangle cells", "a triangle mesh")
        t = np.concatenate(tris)
        used = np.unique(t)
        remap = -np.ones(len(m.points), np.int64)
        remap[used] = np.arange(len(used))
        return cls(m.points[used, :2], remap[t])

    # ------------------------------------------------------------------ queries
    @property
    def n_vertices(self) -> int:
        """Number of mesh vertices (= mathematical covers)."""
        return len(self.points)

    @property
    def n_triangles(self) -> int:
        """Number of triangles."""
        return len(self.triangles)

    def barycentric(self, tri: np.ndarray, x: np.ndarray) -> np.ndarray:
        """λ_k(x) (n,3) of points x (n,2) in triangles ``tri`` (n,)."""
        v0 = self.points[self.triangles[tri, 0]]
        g = self.grad_lambda[tri]  # (n,3,2)
        lam = np.einsum("nkd,nd->nk", g, x - v0)
        lam[:, 0] += 1.0
        return lam

    def find_triangles(self, x: np.ndarray, tol: float = 1e-12) -> np.ndarray:
        """Index of a triangle containing each point (n,2), −1 if none."""
        from scipy.spatial import cKDTree

        if not hasattr(self, "_tree"):
            self._tree = cKDTree(self.points[self.triangles].mean(axis=1))
        x = np.atleast_2d(x)
        out = -np.ones(len(x), np.int64)
        todo = np.arange(len(x))
        for k in (8, 32, 128, min(512, self.n_triangles)):
            if len(todo) == 0:
                break
            k = min(k, self.n_triangles)
            _, cand = self._tree.query(x[todo], k=k)
            cand = cand.reshape(len(todo), -1)
            for c in range(cand.shape[1]):
                lam = self.barycentric(cand[:, c], x[todo])
                ok = (lam.min(axis=1) >= -tol) & (out[todo] < 0)
                out[todo[ok]] = cand[ok, c]
            todo = todo[out[todo] < 0]
        return out


def graded_coordinates(lo: float, hi: float, center: float, h_min: float, h_max: float, growth: float = 1.25) -> np.ndarray:
    """Increasing coordinates on [lo, hi], spacing h_min at ``center`` growing geometrically
    by ``growth`` up to h_max (for graded tensor meshes, e.g. around a crack tip)."""
    if not (lo < hi and 0 < h_min <= h_max and growth >= 1.0):
        raise InputError("mesh.grading", f"lo={lo}, hi={hi}, h_min={h_min}, h_max={h_max}, growth={growth}", "lo < hi, 0 < h_min <= h_max, growth >= 1")
    c = min(max(center, lo), hi)

    def side(length):
        xs, x, h = [0.0], 0.0, h_min
        while x + h < length:
            x += h
            xs.append(x)
            h = min(h * growth, h_max)
        if length - xs[-1] < 0.5 * h and len(xs) > 1:
            xs.pop()
        return np.array(xs[1:] + [length]) if length > 0 else np.zeros(0)

    left = c - side(c - lo)[::-1]
    right = c + side(hi - c)
    return np.unique(np.r_[left, c, right])
