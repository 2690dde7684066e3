"""Hydrodynamic drag of still reservoir water on the submerged faces of moving blocks.

A block face moving through still water feels, per unit length of face and unit thickness
(plane problem) [N/m], at a point x of an edge with outward unit normal n and unit tangent
s (edge direction), v = T(x) V the velocity of the block's displacement field there [m/s]
(relative to the still water; V = (u0, v0, r0, εx, εy, γxy) the block velocity):

    pressure (form) drag, advancing faces only (v·n > 0):   t_p = −½ ρ_w C_d (v·n)² n
    skin friction (tangential):                              t_f = −½ ρ_w C_f |v·s| (v·s) s

(Morison-type quadratic drag; C_d [–] the pressure-drag coefficient of the face, C_f [–] the
skin-friction coefficient; ρ_w [kg/m³]). Faces moving away from the water (v·n ≤ 0) carry no
pressure drag (the wake's suction is not modelled). For a translating block the resultant is
−½ ρ_w C_d v² L_⊥ along −v (L_⊥ [m] the submerged frontal height seen by the flow), the
textbook drag of a 2D bluff body with C_d referred to its frontal height.

Where it acts: on the part below the level h of every edge of every free block (the same
clipping as dda.water.water_loads), except where the face is shielded from the water: a
quadrature point whose neighbour just outside the face, x + ε n (ε = the contact distance d0
[m] in dda.Simulation), lies inside any block (another block or the fixed ground touches the
face: the base of a slide on its slip surface, the joint between two compartments) carries
no drag. A face that opens more than ε from its neighbour is wet again.

Quadrature: v·n and v·s are linear along an edge, so the submerged part is split where either
changes sign (≤ 3 pieces); on each piece the tractions are quadratic in the edge parameter and
the load F += ∫ Tᵀ t ds (T linear) is a cubic, integrated exactly by 2-point Gauss (shielding
is decided per quadrature point). Vectorised over edges (no loop over edges); the shielding
test is O(N_points × N_edges) (point-in-polygon against every block edge of the system).

Time integration: explicit (lagged) on the start-of-step velocity V₀, a constant load over
the step like the other water loads. DDA's update with a constant load F gives
v₁ = v₀ + Δt F/M; with F_d = −k v₀|v₀| (k = ½ ρ_w C_d L [kg/m²]) a perturbation grows as
δv₁ = (1 − 2 k |v| Δt / M) δv₀, so the scheme is stable while Δt < M / (ρ_w C_d L |v|)
(M [kg/m] the block mass per unit thickness), monotone (no overshoot of the terminal velocity)
for half that, and accurate for Δt ≪ M/(ρ_w C_d L |v|) = τ_d, the drag time scale; the
terminal velocity itself is exact (at v₀ = v_t the load balance holds and v₁ = v₀). The
local error per step is O(Δt/τ_d) of the drag. For the Vajont cases (blocks of 3.3e3–7.6e4 m²
of rock, M ≥ 7.9e6 kg/m for the smallest compartment of vajont_10block.toml; submerged height
≤ 200 m at the 236 m level; |v| ≤ 30 m/s; C_d ≤ 2): τ_d ≥ 7.9e6/(1000 · 2 · 200 · 30) ≈ 0.66 s
(15 s for the blocks of vajont.toml) against Δt ≤ 5 ms: Δt/τ_d ≤ 7.6e-3, far inside.
The drag is off in the static settling phase (no velocity carried there).

Coefficients (cases/vajont.toml; docs/cases.md): C_d ≈ 1 for a bluff submerged slide block
(Grilli & Watts 2005, J. Waterway Port Coastal Ocean Eng. 131(6), C_d = 1 with added mass
C_m = 1 for a rigid submarine slide; Watts 1998, ibid. 124(3)); published range 0.5–2
(≈ 1.98 for a long flat plate normal to the flow, Hoerner 1965 Fluid-Dynamic Drag). Skin
friction C_f ≈ 0.0025–0.005 (turbulent flat plate, C_f ≈ 0.005 at Re = 1e6 and lower at the
Re ~ 1e9 of a landslide; Schlichting; the order used for skin friction in submarine slide
models). Added mass is not modelled here.
"""

from __future__ import annotations

import numpy as np

from dda.geometry import Polygons
from dda.kinematics import tmat
from dda.submatrices import point_loads
from dda.water import submerged_edges

_G = np.array([0.5 - 0.5 / np.sqrt(3.0), 0.5 + 0.5 / np.sqrt(3.0)])  # 2-point Gauss on [0, 1], weights ½


def _shielded(polys: Polygons, pts: np.ndarray) -> np.ndarray:
    """True where a point (N, 2) lies inside any block (even–odd rule per block)."""
    if pts.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    a, b = polys.xy, polys.xy[polys.nxt]
    x, y = pts[:, 0:1], pts[:, 1:2]
    cond = (a[None, :, 1] > y) != (b[None, :, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = a[None, :, 0] + (y - a[None, :, 1]) * (b[None, :, 0] - a[None, :, 0]) / (b[None, :, 1] - a[None, :, 1])
    hit = (cond & (x < xi)).astype(np.int64)  # (N, n_edges)
    per_block = np.add.reduceat(hit, polys.voff[:-1], axis=1) if polys.nb else np.zeros((pts.shape[0], 0), np.int64)
    return np.any(per_block % 2 == 1, axis=1)


def water_drag_loads(
    polys: Polygons,
    free: np.ndarray,
    level: float,
    rho_w: float,
    drag_coefficient: float,
    skin_friction: float,
    centroid: np.ndarray,
    velocity: np.ndarray,
    F: np.ndarray,
    shield_distance: float,
) -> float:
    """Add the drag loads of still water below level h [m] to F (nb, 6) [N, N·m].

    velocity (nb, 6): the blocks' velocity V at the step start; centroid (nb, 2) [m];
    shield_distance ε [m]: a face point whose neighbour x + ε n lies inside a block is dry.
    Returns the drag power Σ f·v [W/m] (≤ 0: the water takes energy).
    """
    if drag_coefficient == 0.0 and skin_friction == 0.0:
        return 0.0
    e, p0, p1, s, n = submerged_edges(polys, free, level)  # the submerged part p0 → p1 of each wet edge
    if e.size == 0:
        return 0.0
    blk = polys.block[e]
    c = centroid[blk]
    V = velocity[blk]

    def vel(p: np.ndarray) -> np.ndarray:
        d = p - c
        return np.einsum("nij,nj->ni", tmat(d[:, 0], d[:, 1]), V)

    v0, v1 = vel(p0), vel(p1)
    vn0, vn1 = np.sum(v0 * n, axis=1), np.sum(v1 * n, axis=1)
    vt0, vt1 = np.sum(v0 * s, axis=1), np.sum(v1 * s, axis=1)

    def root(f0: np.ndarray, f1: np.ndarray) -> np.ndarray:
        """Where the linear f0 → f1 changes sign in (0, 1), else 1."""
        change = (f0 * f1) < 0
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(change, f0 / (f0 - f1), 1.0)
        return np.clip(r, 0.0, 1.0)

    rn, rt = root(vn0, vn1), root(vt0, vt1)
    brk = np.stack([np.zeros_like(rn), np.minimum(rn, rt), np.maximum(rn, rt), np.ones_like(rn)], axis=1)
    lo, hi = brk[:, :-1], brk[:, 1:]  # (m, 3) pieces of the submerged part
    xi = (lo[:, :, None] + (hi - lo)[:, :, None] * _G[None, None, :]).reshape(e.size, 6)  # (m, 6) points
    w = np.repeat(0.5 * (hi - lo), 2, axis=1) * np.linalg.norm(p1 - p0, axis=1)[:, None]  # (m, 6) [m]
    pts = p0[:, None, :] + xi[:, :, None] * (p1 - p0)[:, None, :]
    vn = vn0[:, None] + xi * (vn1 - vn0)[:, None]
    vt = vt0[:, None] + xi * (vt1 - vt0)[:, None]
    half = 0.5 * rho_w
    tn = -half * drag_coefficient * np.maximum(vn, 0.0) ** 2  # [Pa]: along n
    tt = -half * skin_friction * np.abs(vt) * vt  # along s
    f = w[:, :, None] * (tn[:, :, None] * n[:, None, :] + tt[:, :, None] * s[:, None, :])  # (m, 6, 2) [N/m]
    dry = _shielded(polys, (pts + shield_distance * n[:, None, :]).reshape(-1, 2)).reshape(e.size, 6)
    f[dry] = 0.0
    point_loads(np.repeat(blk, 6), pts.reshape(-1, 2), f.reshape(-1, 2), centroid, F)
    v = v0[:, None, :] + xi[:, :, None] * (v1 - v0)[:, None, :]
    return float(np.sum(f * v))
