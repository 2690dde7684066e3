"""Stress intensity factors by the domain interaction integral (Yau, Wang & Corten 1980;
Moës, Dolbow & Belytschko 1999).

In the crack-tip frame (x₁ along the crack, tip at the origin):

    I = ∫_A [σ_ij u^aux_i,1 + σ^aux_ij u_i,1 − σ_ij ε^aux_ij δ_1j] q_,j dA,
    K_I = E' I(mode I aux) / 2,  K_II = E' I(mode II aux) / 2,

with E' = E (plane stress) or E/(1 − ν²) (plane strain) and the Williams fields for unit
K as auxiliary fields. q = 1 for r ≤ r_in, a C¹ smoothstep down to 0 at r_out, with an
analytic gradient, so the integrand is only non-zero in the annulus r_in < r < r_out —
away from the tip, where the cover approximation is accurate without tip enrichment
(covers containing the tip are not split, which shortens the modelled crack by less than
one element; keep r_in several elements wide). Units: K [Pa·√m].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nmm.approximation import gradient
from nmm.discontinuity import crack_tips


def elastic_constants(law) -> tuple[float, float, float, float]:
    """(E, ν, μ, κ) of an isotropic law from its reference stiffness and plane condition."""
    C = np.asarray(law.reference_stiffness(), float)
    c11, c12, mu = C[0, 0], C[0, 1], C[2, 2]
    if law.plane == "stress":
        nu = c12 / c11
        E = c11 * (1 - nu**2)
        kappa = (3 - nu) / (1 + nu)
    else:
        lam = c12
        nu = lam / (2 * (lam + mu))
        E = mu * (3 * lam + 2 * mu) / (lam + mu)
        kappa = 3 - 4 * nu
    return E, nu, mu, kappa


def _g(theta, mode: int, kappa: float):
    """Angular functions of the Williams displacement, u = √(r/2π)/(2μ) g(θ) (K = 1)."""
    s, c = np.sin(theta / 2), np.cos(theta / 2)
    if mode == 1:
        return c * (kappa - 1 + 2 * s**2), s * (kappa + 1 - 2 * c**2)
    return s * (kappa + 1 + 2 * c**2), -c * (kappa - 1 - 2 * s**2)


def williams(r: np.ndarray, theta: np.ndarray, mode: int, mu: float, kappa: float):
    """Auxiliary stress (n,2,2) and displacement gradient (n,2,2) for unit K (tip frame)."""
    sr = 1.0 / np.sqrt(2 * np.pi * r)
    s, c, s3, c3 = np.sin(theta / 2), np.cos(theta / 2), np.sin(1.5 * theta), np.cos(1.5 * theta)
    if mode == 1:
        s11, s22, s12 = c * (1 - s * s3), c * (1 + s * s3), s * c * c3
    else:
        s11, s22, s12 = -s * (2 + c * c3), s * c * c3, c * (1 - s * s3)
    sig = sr[:, None, None] * np.stack([np.stack([s11, s12], -1), np.stack([s12, s22], -1)], -2)
    h = 1e-30
    g = np.stack(_g(theta, mode, kappa), -1)  # (n,2)
    dg = np.stack([x.imag / h for x in _g(theta + 1j * h, mode, kappa)], -1)
    amp = np.sqrt(r / (2 * np.pi)) / (2 * mu)
    du_dr = (amp / (2 * r))[:, None] * g
    du_dt = amp[:, None] * dg
    ct, st = np.cos(theta)[:, None], np.sin(theta)[:, None]
    du_dx1 = ct * du_dr - st / r[:, None] * du_dt
    du_dx2 = st * du_dr + ct / r[:, None] * du_dt
    grad = np.stack([du_dx1, du_dx2], -1)  # (n, i, j) = ∂u_i/∂x_j
    return sig, grad


def _q(r, r_in, r_out):
    """q(r) and dq/dr: 1 inside r_in, smoothstep to 0 at r_out."""
    s = np.clip((r - r_in) / (r_out - r_in), 0.0, 1.0)
    dq = np.where((s > 0) & (s < 1), (-6 * s + 6 * s**2) / (r_out - r_in), 0.0)
    return 1 - 3 * s**2 + 2 * s**3, dq


def interaction_integrals(x, w, stress, grad, tip, direction, r_in: float, r_out: float, law) -> dict[str, float]:
    """K_I, K_II [Pa√m] and J [N/m] of one tip from integration-point data (any discretisation).

    x (n,2) points [m], w (n,) weights [m²], stress (n,3) Voigt [Pa], grad (n,2,2) ∂u_i/∂x_j,
    tip (2,), direction (2,) unit crack direction at the tip, annulus r_in < r < r_out [m],
    law: the (isotropic) law, for E, ν and the plane condition. Local sums only: under MPI,
    sum the returned ``parts`` (I_I, I_II, J) over ranks before :func:`sif_from_parts`.
    """
    E, nu, mu, kappa = elastic_constants(law)
    R = np.array([direction, [-direction[1], direction[0]]])  # rows: e1, e2
    xl = (np.asarray(x) - tip) @ R.T
    r = np.linalg.norm(xl, axis=1)
    sel = (r > r_in) & (r < r_out)
    vals = np.zeros(3)
    if sel.any():
        sig = np.asarray(stress)[sel]
        S_all = np.stack([np.stack([sig[:, 0], sig[:, 2]], -1), np.stack([sig[:, 2], sig[:, 1]], -1)], -2)
        rs, th = r[sel], np.arctan2(xl[sel, 1], xl[sel, 0])
        _, dqdr = _q(rs, r_in, r_out)
        dq = (dqdr / rs)[:, None] * xl[sel]  # ∇q in the tip frame
        S = np.einsum("ai,nij,bj->nab", R, S_all, R)
        Gu = np.einsum("ai,nij,bj->nab", R, np.asarray(grad)[sel], R)
        ws = np.asarray(w)[sel]
        for k, mode in enumerate((1, 2)):
            Sa, Ga = williams(rs, th, mode, mu, kappa)
            Ea = 0.5 * (Ga + np.transpose(Ga, (0, 2, 1)))
            W = np.einsum("nij,nij->n", S, Ea)
            term = np.einsum("nij,ni,nj->n", S, Ga[:, :, 0], dq) + np.einsum("nij,ni,nj->n", Sa, Gu[:, :, 0], dq)
            vals[k] = np.sum(ws * (term - W * dq[:, 0]))
        # J (energy release rate): ∫ (σ_ij u_i,1 − W δ_1j) q_,j
        Wd = 0.5 * np.einsum("nij,nij->n", S, 0.5 * (Gu + np.transpose(Gu, (0, 2, 1))))
        vals[2] = np.sum(ws * (np.einsum("nij,ni,nj->n", S, Gu[:, :, 0], dq) - Wd * dq[:, 0]))
    return {"parts": vals}


def sif_from_parts(parts: np.ndarray, law) -> dict[str, float]:
    """K_I = E' I_I / 2, K_II = E' I_II / 2, J from the (rank-summed) interaction integrals."""
    E, nu, _, _ = elastic_constants(law)
    Ep = E if law.plane == "stress" else E / (1 - nu**2)
    return {"KI": float(Ep * parts[0] / 2), "KII": float(Ep * parts[1] / 2), "J": float(parts[2])}


def stress_intensity_factors(result, r_out: float | None = None, r_in_ratio: float = 0.3) -> list[dict[str, Any]]:
    """K_I, K_II [Pa√m] and J [N/m] at every crack tip of ``result.model``."""
    model = result.model
    asm = model.asm
    out = []
    grad_all = gradient(asm.dN, result.u[asm.qdofs])  # (nq,2,2) ∂u_i/∂x_j
    for ci, crack in enumerate(model.cracks):
        for tip, direction in crack_tips(crack, model.domain):
            ro = r_out
            if ro is None:
                ro = 0.5 * min(model.domain.distance_to_boundary(tip[None])[0], crack.length)
            ri = r_in_ratio * ro
            vals = interaction_integrals(asm.quad.x, asm.quad.w, result.stress_qp, grad_all, tip, direction, ri, ro, model.law)["parts"]
            vals = model.comm.allreduce(vals)
            out.append({"crack": ci, "tip": tip.tolist(), **sif_from_parts(vals, model.law), "r_in": float(ri), "r_out": float(ro)})
    return out
