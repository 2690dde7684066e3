"""Boundary conditions as one description that every solver interprets.

A boundary condition says *what* is prescribed and *where*; how it enters the discrete
problem is the solver's business. The same :class:`Dirichlet` and :class:`Traction` objects
are accepted by the FEM and data-driven solvers (``coupling.solvers``) and by NMM
(``nmm.ManifoldModel.add``); why they live here: ``learned/`` is the one package every
solver may import (see :mod:`learned.contract`).

Where (a boundary part), one of

- :class:`Segment` ``((x0, y0), (x1, y1))`` [m]: the parts of ∂Ω that lie on the segment.
  Every solver reads it: FEM selects the boundary facets lying on it (a boundary-fitted
  mesh); NMM, whose covers do not follow the boundary, integrates on the segment itself at
  line Gauss points. A bare pair of points is read as a Segment (:func:`as_part`).
- :class:`MeshFacets` / :class:`MeshVertices`: local facet / vertex indices of a
  boundary-fitted mesh (FEM; NMM has no such mesh and refuses them).
- :class:`Point` ``(x, y)`` [m]: one point. FEM: the mesh vertex (vertices) nearest to it;
  NMM: a penalty spring there (k = β E_ref · 1 m, as DDA's fixed points).

What (a value), for a Dirichlet component [m] or a traction (t_x, t_y) [Pa]:

- a constant (a float; a pair of floats for a traction), scaled by the load factor λ of a
  static solve;
- or a callable ``f(x)`` of the coordinates, ``x[0]`` and ``x[1]`` being x and y [m]: in
  FEM the UFL ``SpatialCoordinate`` (integrated exactly by the form compiler), in NMM numpy
  arrays of shape (n,) at line Gauss points. It returns a scalar (Dirichlet) or a pair
  (t_x, t_y) (traction). Written with arithmetic only (``x[1] ** 2``, not ``np.sin``), one
  function serves both solvers.

Traction alternatives: ``pressure`` p [Pa] (t = −p n, n the outward unit normal: p > 0
pushes on the body) and ``in_situ`` (t = σ₀ n, the initial stress's own traction: a
far-field boundary; only solvers with an initial stress, NMM, accept it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union

import numpy as np


@dataclass(frozen=True)
class Segment:
    """The parts of ∂Ω lying on the segment start → end (each a point (x, y) [m])."""

    start: tuple[float, float]
    end: tuple[float, float]

    def points(self) -> np.ndarray:
        """The segment as a (2, 2) array [[x0, y0], [x1, y1]] [m]."""
        return np.asarray([self.start, self.end], dtype=float)


@dataclass(frozen=True, eq=False)
class MeshFacets:
    """Facets (edges, dim 1) of a boundary-fitted mesh: local indices, shape (n,)."""

    indices: np.ndarray


@dataclass(frozen=True, eq=False)
class MeshVertices:
    """Vertices (dim 0) of a boundary-fitted mesh: local indices, shape (n,)."""

    indices: np.ndarray


@dataclass(frozen=True)
class Point:
    """One point (x, y) [m]."""

    x: tuple[float, float]


BoundaryPart = Union[Segment, MeshFacets, MeshVertices, Point]
#: a prescribed value: None (free), a constant, or a callable of the coordinates x[0], x[1]
Value = Union[float, Sequence[float], Callable[[Any], Any], None]


def as_part(where: Any) -> BoundaryPart:
    """A boundary part from what a user gives: a part object, or a pair of points → :class:`Segment`.

    Raises ValueError for anything else (the solver names the key in its own error)."""
    if isinstance(where, (Segment, MeshFacets, MeshVertices, Point)):
        return where
    s = np.asarray(where, dtype=float) if not isinstance(where, (str, bytes)) else None
    if s is None or s.shape != (2, 2) or not np.all(np.isfinite(s)):
        raise ValueError(f"{where!r}")
    return Segment((float(s[0, 0]), float(s[0, 1])), (float(s[1, 0]), float(s[1, 1])))


@dataclass(frozen=True)
class Dirichlet:
    """Prescribed displacement u_x = ``ux``, u_y = ``uy`` [m] on the boundary part ``where``;
    a component left None is free. Values: a constant or a callable of x (see the module)."""

    where: Any
    ux: Value = None
    uy: Value = None

    def components(self) -> list[tuple[int, Value]]:
        """[(component 0 = x | 1 = y, value)] of the prescribed components."""
        return [(c, v) for c, v in enumerate((self.ux, self.uy)) if v is not None]


@dataclass(frozen=True)
class Traction:
    """A surface load on the boundary part ``where``: exactly one of ``value`` (t_x, t_y)
    [Pa] (a pair or a callable of x), ``pressure`` p [Pa] (t = −p n) or ``in_situ`` (t = σ₀ n)."""

    where: Any
    value: Value = None
    pressure: float | None = None
    in_situ: bool = False

    def __post_init__(self) -> None:
        given = (self.value is not None) + (self.pressure is not None) + bool(self.in_situ)
        if given != 1:
            raise ValueError("a Traction takes exactly one of value, pressure or in_situ=True")


def evaluate_at(value: Value, x: np.ndarray, n_components: int) -> np.ndarray:
    """A prescribed value at points ``x`` (n, 2) [m], numpy: shape (n,) for one component,
    (n, 2) for a traction. A callable receives the coordinates as ``x.T`` (x[0], x[1] each (n,))."""
    n = len(x)
    if callable(value):
        out = value(x.T)
        if n_components == 1:
            return np.broadcast_to(np.asarray(out, dtype=float), (n,)).copy()
        return np.stack([np.broadcast_to(np.asarray(c, dtype=float), (n,)) for c in (out[0], out[1])], axis=1)
    if n_components == 1:
        return np.full(n, float(value))
    return np.broadcast_to(np.asarray(value, dtype=float), (n, 2))
