"""Contact springs and friction (Shi 1988), vectorised over all contacts.

For a contact (vertex P of block i, foot Q on edge of block j, normal n, direction s) the
normal gap and the shear displacement after the step are linear in the block unknowns:

    d_n = g_n + a_nᵀ D_i + b_nᵀ D_j,   a_n = T_i(P)ᵀ n,  b_n = −T_j(Q)ᵀ n,
    d_s = g_s + a_sᵀ D_i + b_sᵀ D_j    (g_s: shear-spring stretch carried while locked).

A spring of stiffness k on d = g + wᵀD (w = [a; b], 12 entries) adds k w wᵀ to K and
−k g w to F. Closed contacts (sliding or locked) carry the normal spring p_n [N/m]; locked
ones also the shear spring p_s = p_n / shear_ratio. Sliding contacts carry the friction
force F_f = μ N + c l_c opposing the slip direction σ: F −= σ F_f w_s. Normal force
N = −p_n d_n [N] (> 0 in compression).

Strength comes from a :class:`learned.JointLaw` chosen by the contact's joint tag:
σ_n = N / l_ref, F_max = (τ_max(σ_n) − c) l_ref + c_eff l_c (= μ N + c_eff l_c), where
c_eff = c while the joint is intact (bonded) and 0 after it has opened or slid.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from learned.joint import grouped_advance, grouped_step_state, grouped_strength
from learned import JointLaw

from dda.contact_detect import Contacts
from dda.kinematics import tt_vec

OPEN, SLIDING, LOCKED = 0, 1, 2


def contact_vectors(c: Contacts, centroid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """w_n, w_s (nc, 12): gradients of d_n and d_s with respect to [D_i; D_j]."""
    # [Tᵀ(P) v, −Tᵀ(Q) v], written in place into the two column blocks of the result
    n = c.i.size
    cx, cy = centroid[:, 0], centroid[:, 1]
    XP, YP = c.P[:, 0] - cx[c.i], c.P[:, 1] - cy[c.i]
    XQ, YQ = c.Q[:, 0] - cx[c.j], c.Q[:, 1] - cy[c.j]
    wn, ws = np.empty((n, 12)), np.empty((n, 12))
    for out, v in ((wn, c.n), (ws, c.s)):
        tt_vec(XP, YP, v, out=out[:, :6])
        tt_vec(XQ, YQ, v, out=out[:, 6:], negate=True)
    return wn, ws


def contact_system(
    wn: np.ndarray,
    ws: np.ndarray,
    state: np.ndarray,
    gap: np.ndarray,
    stretch: np.ndarray,
    sign: np.ndarray,
    friction_force: np.ndarray,
    pn: float,
    ps: float,
    friction_slope: np.ndarray | None = None,
    normal_ref: np.ndarray | None = None,
    previous: "ContactStiffness | None" = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-contact 12×12 stiffness and 12-vector load for the current contact states.

    ``friction_force`` F_f [N] is the strength at the normal force ``normal_ref`` N₀ [N].
    With ``friction_slope`` μ_t = ∂F_f/∂N [-] the friction of a sliding contact follows the
    normal force of the solution (implicit, Shi's sliding spring):

        F_f(D) = F_f + μ_t (N(D) − N₀),   N(D) = −p_n (g_n + w_nᵀ D),

    which adds the non-symmetric block −σ μ_t p_n w_s w_nᵀ to K. Without it F_f is a fixed
    force (lagged by one solve): a sliding joint's friction then does not respond to the
    rocking of its blocks within the step, and a stack of blocks whose joints slide can walk
    sideways (see dda.openclose).

    ``previous`` (a :class:`ContactStiffness` of the same contacts and w_n, w_s, e.g. the
    last open–close iteration's): K is recomputed only for the contacts whose spring
    coefficients (k_n, k_s, k_f) changed, and ``previous`` is updated to this call (each
    contact's K is a function of its own w_n, w_s and coefficients alone: the same floats).
    """
    kn = np.where(state != OPEN, pn, 0.0)
    ks = np.where(state == LOCKED, ps, 0.0)
    slide = state == SLIDING
    ff = np.where(slide, sign * friction_force, 0.0)
    k_f = None
    if friction_slope is not None:
        k_f = np.where(slide, sign * friction_slope * pn, 0.0)  # σ μ_t p_n
        ff = ff - np.where(slide, sign * friction_slope * normal_ref, 0.0) - k_f * gap
    if previous is not None:
        K = previous.update(wn, ws, kn, ks, k_f)
    else:
        K = _stiffness(wn, ws, kn, ks, k_f)
    F = -(kn * gap)[:, None] * wn - (ks * stretch + ff)[:, None] * ws
    return K, F


def _stiffness(wn: np.ndarray, ws: np.ndarray, kn: np.ndarray, ks: np.ndarray, k_f: np.ndarray | None) -> np.ndarray:
    """K (n, 12, 12) = k_n w_n w_nᵀ + w_s (k_s w_s − k_f w_n)ᵀ as one batched (12×2)(2×12) product."""
    shear_row = ks[:, None] * ws
    if k_f is not None:
        shear_row = shear_row - k_f[:, None] * wn
    return np.stack([wn, ws], axis=2) @ np.stack([kn[:, None] * wn, shear_row], axis=1)


class ContactStiffness:
    """The contact stiffnesses K (nc, 12, 12) of the last :func:`contact_system` call with
    their spring coefficients, for a fixed contact list and fixed w_n, w_s (one trial step):
    the open–close iteration changes the state of a few contacts per re-solve (a median of 10
    of 542 on the 10 × 10 stack), so only their K is recomputed."""

    def __init__(self) -> None:
        self.K: np.ndarray | None = None
        self._coef: tuple | None = None  # (k_n, k_s, k_f or None) of the last call
        self._no_slope = True
        #: the rows of ``K`` the last :meth:`update` rewrote in place (ascending), None when it
        #: made a new ``K`` (every row new): what a solver that keeps sums of ``K`` must redo
        self.changed: np.ndarray | None = None

    @property
    def coef(self) -> np.ndarray | None:
        """(nc, 3) the spring coefficients k_n, k_s, k_f of the last call (k_f 0 without a slope)."""
        if self._coef is None:
            return None
        kn, ks, k_f = self._coef
        return np.stack([kn, ks, np.zeros_like(kn) if k_f is None else k_f], axis=1)

    def update(self, wn: np.ndarray, ws: np.ndarray, kn: np.ndarray, ks: np.ndarray, k_f: np.ndarray | None) -> np.ndarray:
        """K for the coefficients k_n, k_s, k_f (nc,) (k_f None: no friction slope). The array of
        the previous call is updated in place and returned (the caller's K of the last
        iteration is this one: nothing else keeps it)."""
        if self.K is None or self._coef[0].shape != kn.shape or (k_f is None) != self._no_slope:
            K = _stiffness(wn, ws, kn, ks, k_f)
            changed = None
        else:
            K = self.K
            # compared bit for bit (−0.0 and 0.0 differ, NaN equals itself): exactly the rows that would change
            pkn, pks, pkf = self._coef
            diff = (kn.view(np.int64) != pkn.view(np.int64)) | (ks.view(np.int64) != pks.view(np.int64))
            if k_f is not None:
                diff |= k_f.view(np.int64) != pkf.view(np.int64)
            changed = np.flatnonzero(diff)
            if changed.size:
                K[changed] = _stiffness(wn[changed], ws[changed], kn[changed], ks[changed],
                                        None if k_f is None else k_f[changed])
        # (the caller's coefficient arrays are new per call: kept, not copied)
        self.K, self._coef, self._no_slope, self.changed = K, (kn, ks, k_f), k_f is None, changed
        return K


#: the group of contacts whose tag has no law of its own (the default joint law)
DEFAULT_GROUP = -(2**62)


def joint_group(tag: np.ndarray, laws: Mapping[int, JointLaw]) -> np.ndarray:
    """Law group (nc,) of contacts with joint tags ``tag``: the tag where ``laws`` has a law
    for it, else :data:`DEFAULT_GROUP` (the default law)."""
    keys = np.fromiter(laws.keys(), dtype=np.int64)
    if keys.size == 0:
        return np.full(tag.shape, DEFAULT_GROUP, dtype=np.int64)
    # a few joint laws: one comparison per law (np.isin's sort costs more on small arrays)
    has = np.isin(tag, keys) if keys.size > 8 else np.any(tag[:, None] == keys[None, :], axis=1)
    return np.where(has, tag, DEFAULT_GROUP)


def joint_strength(
    tag: np.ndarray,
    normal_force: np.ndarray,
    slip: np.ndarray,
    slip_rate: np.ndarray,
    lc: np.ndarray,
    bonded: np.ndarray,
    laws: Mapping[int, JointLaw],
    default: JointLaw,
    l_ref: float,
    law_state: np.ndarray | None = None,
    group: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shear strength F_max [N], tensile capacity T_max [N] and friction μ [-] per contact.

    ``normal_force`` N [N] (> 0 compression) is clipped at 0 for friction; cohesion and
    tension act only on bonded contacts. Each joint law is evaluated once, batched, on its
    contacts; ``law_state`` (nc, S) is the joint laws' per-contact state (ContactState.law_state).
    ``group`` (nc,): :func:`joint_group` of ``tag`` and ``laws`` when the caller has it
    (the open–close iteration evaluates the same contacts several times per step).
    """
    nc = tag.size
    if nc == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    lref = np.maximum(lc, l_ref)
    if group is None:
        group = joint_group(tag, laws)
    friction, cohesion, tension, mu = grouped_strength(
        {**laws, DEFAULT_GROUP: default}, group, np.maximum(normal_force, 0.0) / lref, slip, slip_rate, bonded,
        law_state,
    )
    # friction acts on the contact's reference length, cohesion and tension on its own length
    return friction * lref + cohesion * lc, tension * lc, mu


def advance_joint_state(
    tag: np.ndarray,
    normal_force: np.ndarray,
    slip_increment: np.ndarray,
    lc: np.ndarray,
    laws: Mapping[int, JointLaw],
    default: JointLaw,
    l_ref: float,
    dt: float,
    law_state: np.ndarray,
) -> np.ndarray:
    """Joint-law state (nc, S) after an accepted step: σ_n = N / max(l_c, l_ref) [Pa] as in
    :func:`joint_strength`, |slip increment| [m] (0 for contacts that did not slide)."""
    if tag.size == 0 or law_state.shape[1] == 0:
        return law_state
    group = joint_group(tag, laws)
    sn = np.maximum(normal_force, 0.0) / np.maximum(lc, l_ref)
    return grouped_advance({**laws, DEFAULT_GROUP: default}, group, sn, slip_increment, dt, law_state)


def step_joint_state(
    tag: np.ndarray,
    slip_increment: np.ndarray,
    laws: Mapping[int, JointLaw],
    default: JointLaw,
    dt: float,
    law_state: np.ndarray,
    group: np.ndarray | None = None,
) -> np.ndarray:
    """Joint-law state (nc, S) the strength of a step reads (:meth:`learned.JointLaw.step_state`):
    the state's mean over the step for each contact's |slip increment| [m] of the open–close
    iterate (0 for contacts that do not slide), from the state at the step's start."""
    if tag.size == 0 or law_state.shape[1] == 0:
        return law_state
    if group is None:
        group = joint_group(tag, laws)
    return grouped_step_state({**laws, DEFAULT_GROUP: default}, group, slip_increment, dt, law_state)


def restitution_damping_ratio(e: float) -> float:
    """ζ of the linear damped oscillator whose impact rebounds with restitution e (0 < e < 1):
    e = exp(−πζ/√(1 − ζ²))  ⇔  ζ = −ln e / √(π² + ln² e)  (e = 0.2 → ζ = 0.456)."""
    ln_e = np.log(e)
    return float(-ln_e / np.sqrt(np.pi**2 + ln_e**2))


def restitution_dashpot(e: float, pn: float, m_eff: np.ndarray, i: np.ndarray, j: np.ndarray, dt: float) -> np.ndarray:
    """Normal dashpot c [N·s/m] per contact that DDA's update leaves to add for restitution e.

    Total per contact c_tot = 2ζ(e)√(p_n m_pair) with m_pair = m_eff / n_pair [kg/m]: n_pair
    contacts of one block pair share the pair's reduced mass m_eff (shape (nc,)), so the pair's
    normal impact mode (stiffness n_pair p_n, damping n_pair c_tot, mass m_eff) has damping ratio
    ζ and rebounds with e whether one corner or a whole face (two corner contacts) strikes.
    DDA's update v₁ = 2D/Δt − v₀ damps every contact spring like a dashpot p_n Δt/2 already
    (dda.Settings.contact_damping_time); returned is the rest, max(c_tot − p_n Δt/2, 0), so the
    contact carries c_tot at every Δt ≤ 4ζ/ω_pair (ω_pair = √(p_n/m_pair)). i, j: the
    contacts' block indices (nc,)."""
    if i.size == 0:
        return np.zeros(0)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    _, inverse, counts = np.unique(np.stack([lo, hi]), axis=1, return_inverse=True, return_counts=True)
    m_pair = m_eff / counts[inverse.ravel()]
    c_total = 2.0 * restitution_damping_ratio(e) * np.sqrt(pn * m_pair)
    return np.maximum(c_total - 0.5 * pn * dt, 0.0)
