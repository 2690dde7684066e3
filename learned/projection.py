"""Projection of strain–stress states onto a constitutive manifold M = {(e, f(e))}.

For each point z = (ε, σ) find

    e* = argmin_e Φ(e),   Φ(e) = ½ (ε − e)ᵀ C (ε − e) + ½ (σ − f(e))ᵀ C⁻¹ (σ − f(e))

with C a numerical stiffness (3,3) [Pa] (default: the law's reference stiffness), f the
law's stress and J = ∂f/∂e its tangent. Batched Gauss–Newton:

    g = C (e − ε) − Jᵀ C⁻¹ (σ − f(e)),   H = C + Jᵀ C⁻¹ J,   δ = −H⁻¹ g,

with a per-point backtracking (Armijo) line search on Φ, iterated on the points that have
not converged (‖δ‖_C ≤ tol · (‖ε‖_C + ‖σ‖_C⁻¹), or Φ stagnant). Works for any
:class:`ConstitutiveLaw` through ``law.evaluate`` and for numpy arrays or torch tensors
(results on the input's backend and device). The metric distance reported is
d = √(2Φ(e*)) = √(‖ε − e*‖²_C + ‖σ − f(e*)‖²_C⁻¹) [√Pa].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learned.backend import Array, as_constant, is_torch
from learned.law import ConstitutiveLaw


#: the line search tries several step lengths in one law call while the pending points are
#: few: m = min(backtracks left, BACKTRACK_ROWS // pending) tries, m · pending rows (a law
#: call costs about the same for 1 row as for a few hundred: torch's per-operation overhead)
BACKTRACK_ROWS = 256


@dataclass(frozen=True)
class Projection:
    """strain e* (N,3), stress f(e*) (N,3) [Pa], tangent (N,3,3) [Pa], distance (N,) [√Pa]."""

    strain: Array
    stress: Array
    tangent: Array
    distance: Array
    iterations: int
    converged: bool


def _qform(a: Array, M: Array) -> Array:
    """aᵀ M a per row."""
    return ((a @ M) * a).sum(1)


def _T(a: Array) -> Array:
    """Swap the last two axes."""
    return a.transpose(-1, -2) if is_torch(a) else np.swapaxes(a, -1, -2)


def _solve(H: Array, g: Array) -> Array:
    if is_torch(H):
        import torch

        return torch.linalg.solve(H, g[..., None])[..., 0]
    return np.linalg.solve(H, g[..., None])[..., 0]


def _indices(mask: Array) -> Array:
    if is_torch(mask):
        return mask.nonzero().flatten()
    return np.flatnonzero(mask)


def _tile(a: Array, m: int) -> Array:
    """``a`` repeated m times along its first axis (m copies, one after another)."""
    if m == 1:
        return a
    if is_torch(a):
        return a.repeat(m, *([1] * (a.ndim - 1)))
    return np.tile(a, (m,) + (1,) * (a.ndim - 1))


def _first_true(ok: Array) -> Array:
    """Per column of a boolean (m, p) array, the row of its first True (0 where none)."""
    if is_torch(ok):
        return ok.int().argmax(0)
    return ok.argmax(0)


def _sqrt(x: Array) -> Array:
    return x.clamp(min=0).sqrt() if is_torch(x) else np.sqrt(np.maximum(x, 0))


def project(
    law: ConstitutiveLaw,
    strain: Array,
    stress: Array,
    C: np.ndarray | None = None,
    *,
    init: Array | None = None,
    max_iter: int = 25,
    tol: float = 1e-10,
    max_backtrack: int = 20,
    state: Array | None = None,
) -> Projection:
    """Project N states (ε (N,3) [-], σ (N,3) [Pa]) onto the law's manifold; see module doc.

    C      : metric (3,3) [Pa], default ``law.reference_stiffness()``; its symmetric part is
             used and must be positive-definite
    init   : starting strains (N,3); default e₀ = ε
    state  : law state (N,S) passed to ``law.evaluate`` (held fixed)
    Returns e*, f(e*), the tangent at e*, the distance √(2Φ), iterations used, and whether
    every point met the tolerance.
    """
    if strain.shape != stress.shape or strain.ndim != 2 or strain.shape[1] != 3:
        raise ValueError(f"strain and stress must both be (N, 3), got {tuple(strain.shape)}, {tuple(stress.shape)}")
    C_np = np.asarray(law.reference_stiffness() if C is None else C, dtype=float)
    if C_np.shape != (3, 3):
        raise ValueError(f"C must be a (3,3) stiffness, got shape {C_np.shape}")
    C_np = 0.5 * (C_np + C_np.T)
    if not np.linalg.eigvalsh(C_np).min() > 0:
        raise ValueError("C must be positive-definite (its symmetric part is used as the metric)")
    Cm = as_constant(C_np, strain)
    Ci = as_constant(np.linalg.inv(C_np), strain)

    def evaluate(idx: Array | None, e: Array) -> tuple[Array, Array]:
        st = None if state is None else (state if idx is None else state[idx])
        r = law.evaluate(e, st)
        return r.stress, r.tangent

    def phi(eps: Array, sig: Array, e: Array, f: Array) -> Array:
        return 0.5 * _qform(eps - e, Cm) + 0.5 * _qform(sig - f, Ci)

    e = (strain * 1.0) if init is None else (init * 1.0)
    f, J = evaluate(None, e)
    f, J = f * 1.0, J * 1.0
    val = phi(strain, stress, e, f)
    scale = _sqrt(_qform(strain, Cm)) + _sqrt(_qform(stress, Ci)) + 1e-300
    active = None  # indices of the points still iterating; None: all of them (no copies)
    n_active = strain.shape[0]
    it = 0
    for it in range(1, max_iter + 1):
        def take(a: Array) -> Array:
            return a if active is None else a[active]

        eps, sig, ea, fa, Ja, va, sc = map(take, (strain, stress, e, f, J, val, scale))
        w = (sig - fa) @ Ci  # (C⁻¹ (σ − f))ᵀ per row
        g = (ea - eps) @ Cm - (w[:, None, :] @ Ja)[:, 0, :]
        H = Cm + _T(Ja) @ Ci @ Ja
        step = -_solve(H, g)
        size = _sqrt(_qform(step, Cm))
        slope = (g * step).sum(1)  # < 0 for a descent direction
        alpha = va * 0.0 + 1.0
        pending = _indices(size > tol * sc)  # a full step below tolerance: converged, not searched
        tries = 0
        while tries < max_backtrack and pending.shape[0] > 0:
            # m step lengths α, α/2, …, α/2^(m−1) of the p pending points in one law call
            # (m = 1 unless few points are pending): each point takes the first that passes
            # Armijo, the step sequential halving takes; the law evaluated m·p rows at once
            loc = pending
            p = loc.shape[0]
            m = max(1, min(max_backtrack - tries, BACKTRACK_ROWS // p))
            a_try = alpha[loc][None, :] * as_constant(0.5 ** np.arange(m), va)[:, None]  # (m, p), exact halvings
            e_try = (ea[loc][None] + a_try[:, :, None] * step[loc][None]).reshape(m * p, 3)
            rows = loc if active is None else active[loc]
            f_try, J_try = evaluate(_tile(rows, m), e_try)
            v_try = phi(_tile(eps[loc], m), _tile(sig[loc], m), e_try, f_try).reshape(m, p)
            ok = v_try <= va[loc][None] + 1e-4 * a_try * slope[loc][None]
            passed = ok.any(0)
            first = _first_true(ok)  # (p,) the first passing try (0 where none passes)
            c = _indices(passed)
            r = first[c] * p + c  # the passing rows of the flattened tries
            good = loc[c]
            ea[good], fa[good], Ja[good], va[good] = e_try[r], f_try[r], J_try[r], v_try.reshape(-1)[r]
            alpha[good] = a_try.reshape(-1)[r]
            failed = _indices(~passed)
            alpha[loc[failed]] = a_try[m - 1][failed] * 0.5
            pending = loc[failed]
            tries += m
        moved = alpha * size
        moved[pending] = moved[pending] * 0.0  # no acceptable step: at a (numerical) minimum
        if active is not None:
            e[active], f[active], J[active], val[active] = ea, fa, Ja, va
        still = _indices(moved > tol * sc)
        active = still if active is None else active[still]
        n_active = active.shape[0]
        if n_active == 0:
            break
    return Projection(e, f, J, _sqrt(2.0 * val), it, n_active == 0)


def distance(law: ConstitutiveLaw, strain: Array, stress: Array, C: np.ndarray | None = None) -> Array:
    """Metric distance √(2Φ(e*)) (N,) [√Pa] of states to the manifold."""
    return project(law, strain, stress, C).distance


@dataclass(frozen=True)
class PathProjection:
    """Projections of path data onto a law with state: strain e* (P,M,3), stress (P,M,3) [Pa],
    the committed state after each step (P,M,S), distance (P,M) [√Pa], Gauss–Newton iterations
    per step (M,), and whether every step converged."""

    strain: np.ndarray
    stress: np.ndarray
    state: np.ndarray
    distance: np.ndarray
    iterations: np.ndarray
    converged: bool


def project_paths(law: ConstitutiveLaw, strain: np.ndarray, stress: np.ndarray, C: np.ndarray | None = None,
                  **options) -> PathProjection:
    """Project observed paths (ε (P,M,3) [-], σ (P,M,3) [Pa]) onto a law with history, step by step.

    The admissible set of step k depends on the state q_{k−1} committed at the end of step
    k − 1 (q_0 = ``law.initial_state``): M_k(q_{k−1}) = {(e, σ(e; q_{k−1}))}. Step k solves

        e_k* = argmin_e ½ ‖ε_k − e‖²_C + ½ ‖σ_k − σ(e; q_{k−1})‖²_C⁻¹      (:func:`project`,
                                                                          q_{k−1} held fixed)

    batched over the P paths, and only then commits q_k = q(e_k*; q_{k−1}), the law's state
    after the converged step (the fixed-point update of the method; the state never moves
    during the Gauss–Newton iterations). ``options`` go to :func:`project` (max_iter, tol).
    """
    strain = np.asarray(strain, dtype=float)
    stress = np.asarray(stress, dtype=float)
    if strain.shape != stress.shape or strain.ndim != 3 or strain.shape[2] != 3:
        raise ValueError(f"strain and stress must both be (P, M, 3), got {strain.shape}, {stress.shape}")
    n_paths, n_steps, _ = strain.shape
    C = np.asarray(law.reference_stiffness() if C is None else C, dtype=float)
    state = np.asarray(law.initial_state(n_paths), dtype=float)
    e_star, s_star = np.empty_like(strain), np.empty_like(stress)
    states = np.empty((n_paths, n_steps, law.n_state))
    dist, iters, ok = np.empty((n_paths, n_steps)), np.zeros(n_steps, dtype=int), True
    for k in range(n_steps):
        p = project(law, np.ascontiguousarray(strain[:, k]), np.ascontiguousarray(stress[:, k]), C,
                    state=state if law.n_state else None, **options)
        e_k = np.asarray(p.strain)
        committed = law.evaluate(e_k, state if law.n_state else None)  # the converged step: commit q_k
        state = np.asarray(committed.state) if law.n_state else state
        e_star[:, k], s_star[:, k], dist[:, k] = e_k, np.asarray(committed.stress), np.asarray(p.distance)
        if law.n_state:
            states[:, k] = state
        iters[k], ok = p.iterations, ok and p.converged
    return PathProjection(e_star, s_star, states, dist, iters, ok)
