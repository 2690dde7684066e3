"""Exact polynomial integration over polygonal manifold elements.

Each manifold element is triangulated (fan triangulation of its convex cells), and
Gauss rules exact for polynomials of the needed degree are applied on every triangle:
the result is the exact integral of a polynomial over the polygon (equivalent to Shi's
simplex integration). Order-0 covers: stiffness integrand degree 0, mass degree 2;
order-1 covers: stiffness degree 2, mass degree 4. Lines use Gauss–Legendre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (barycentric points (q,3), weights (q,) summing to 1)
_A, _B = 0.445948490915965, 0.108103018168070
_C, _D = 0.091576213509771, 0.816847572980459
TRIANGLE_RULES = {
    1: (np.array([[1 / 3, 1 / 3, 1 / 3]]), np.array([1.0])),
    2: (np.array([[2 / 3, 1 / 6, 1 / 6], [1 / 6, 2 / 3, 1 / 6], [1 / 6, 1 / 6, 2 / 3]]), np.full(3, 1 / 3)),
    4: (
        np.array([[_B, _A, _A], [_A, _B, _A], [_A, _A, _B], [_D, _C, _C], [_C, _D, _C], [_C, _C, _D]]),
        np.r_[np.full(3, 0.223381589678011), np.full(3, 0.109951743655322)],
    ),
}


def triangle_rule(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss rule on the unit simplex exact to ``degree`` (barycentric points, weights)."""
    for d in sorted(TRIANGLE_RULES):
        if d >= degree:
            return TRIANGLE_RULES[d]
    raise ValueError(f"no triangle rule of degree {degree}")


@dataclass
class Quadrature:
    """Integration points: coordinates x (nq,2) [m], weights w (nq,) [m² or m], element (nq,)."""

    x: np.ndarray
    w: np.ndarray
    elem: np.ndarray


def volume_quadrature(sub_xy: np.ndarray, sub_elem: np.ndarray, degree: int) -> Quadrature:
    """Points on all integration triangles (nS,3,2), grouped by (sorted) element."""
    bary, wts = triangle_rule(degree)
    v = sub_xy
    area = 0.5 * np.abs((v[:, 1, 0] - v[:, 0, 0]) * (v[:, 2, 1] - v[:, 0, 1]) - (v[:, 2, 0] - v[:, 0, 0]) * (v[:, 1, 1] - v[:, 0, 1]))
    x = np.einsum("qk,skd->sqd", bary, v).reshape(-1, 2)
    w = (area[:, None] * wts[None, :]).ravel()
    e = np.repeat(sub_elem, len(wts))
    return Quadrature(x, w, e)


def line_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre on [0,1]: points (n,), weights (n,) summing to 1."""
    t, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (t + 1), 0.5 * w


def segment_quadrature(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points (m*n,2) and weights (m*n,) [m] on segments a→b (m,2)."""
    t, w = line_rule(n)
    x = a[:, None, :] + (b - a)[:, None, :] * t[None, :, None]
    L = np.linalg.norm(b - a, axis=1)
    return x.reshape(-1, 2), (L[:, None] * w[None]).ravel()
