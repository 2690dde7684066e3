"""Contact states across steps and the open–close rules (Shi 1988), vectorised.

States: OPEN (no springs), SLIDING (normal spring + friction force), LOCKED (normal and
shear springs). After each solve of the open–close iteration:

* OPEN    → LOCKED   when the contact penetrates, d_n < −tol_close (Shi's s0 band);
* closed  → OPEN     when the normal spring is in tension beyond the tensile capacity,
                     p_n d_n > T_max + p_n·tol_open (T_max = 0 once the joint has broken);
* LOCKED  → SLIDING  when the shear-spring force |p_s (g_s + Δd_s)| exceeds F_max (1 + 10⁻⁶);
* SLIDING → LOCKED   when the slip reverses against its sign σ by more than tol_shear
                     (Shi's SHEAR_TOL); the shear spring then starts at the friction
                     force it replaces, g_s = σ F_f / p_s, so locking does not drop the
                     shear force (without this a contact that locks unloads, its
                     neighbours overload and it slides again: chatter).

Contacts keep their history across steps through a stable key (vertex, edge); vertex–vertex
contacts keep their entrance edge while it stays acceptable (see contact_detect.detect), so
state, slip sign, spring stretch and normal force carry over instead of restarting.

Convergence: the iteration stops when no state change left is significant. Each change is
weighed by the force it corrects (missing contact force, spurious tension, shear above
strength, friction pushing the wrong way, each bounded by what the change can do: a closing
contact adds at most |d_n| × the series stiffness of its normal spring and its two blocks, a
locking one at most |d_s| × the series stiffness of its shear spring and its blocks, and
never more than 2 F_f) against the force scale of the contact's own blocks (the lighter free
block: its weight plus the normal forces of its closed contacts, :func:`block_force_scale`);
it is significant above ``oc_force_tolerance`` × that scale. Measured against its own blocks,
a lightly loaded block (the top of a stack) converges as tightly as a heavily loaded one; the
former tolerance against the total normal force of the whole system let a resting 30 × 30
stack spread 0.93 mm in 0.2 s (tests/test_dda_stack.py). Changes too small to count are not
lost: they take effect from the next step. A contact that has changed state ``freeze_after``
times within one step is frozen in its closed state (locked/sliding oscillation: sliding), so
the iteration terminates.

Guarantees of an accepted step (measured by Simulation.contact_guarantees, tested after
every step of stacks, an incline, a thrown block and the Vajont section in
tests/test_dda_guarantees.py):

* penetration: no contact, open or closed, penetrates more than ``max_penetration_ratio``
  × d0 (else Δt is cut; a contact left past half that limit and still closing raises p_n for
  the next step, Simulation._impact_penalty, since no Δt cut stops an impact the spring is too
  soft for);
* friction: no contact LOCKED in the step's solution carries a shear force above its
  strength at its solved normal force by more than ``oc_force_tolerance`` × the force scale
  of its own blocks (:func:`locked_friction_excess`); a sliding contact carries exactly its
  strength at the solved normal force, F_f(N) = F_max(N₀) + μ (N − N₀) (= μN for Coulomb:
  on the cone), solved implicitly; contacts frozen after ``freeze_after`` flips are SLIDING;
  a step accepted unconverged at the iteration cap (after ``oc_max_retries`` Δt cuts) has no
  friction guarantee;
* deferred changes (an open contact penetrating beyond tol_close, a closed one in tension
  beyond T_max + p_n·tol_open, a locked one above its strength, a sliding one reversing)
  each correct a force below ``oc_force_tolerance`` × the force scale of the contact's own
  blocks; they act from the next step (a contact locking then starts its shear spring at the
  stretch update_states gives it, without this step's slip).

A closing contact closes LOCKED or SLIDING by whether its shear spring could hold the slip
it makes after touching (:func:`update_states`, as Shi's and ntdda's df22).

Why a settling stack re-solves 3–6 times per step where ntdda solves once (measured, 2026-12,
benchmarks/dda_vs_ntdda.py's grid10, 100 steps):

* ntdda's contacts flip every step too: an instrumented copy of its df22 counts, in the first
  open–close iteration of every step from step 18 on, ~95 locked→sliding and ~97
  sliding→locked changes on the 10 × 10 stack (ours: ~25 and ~22). ntdda re-solves only
  while a contact changes between open and closed (df22's i7 + i8), so a locked contact it
  accepts may carry shear above μN until the next step, and its opening band p_n f0 w0
  (24 block weights here) is a tensile strength: it has neither of the guarantees above.
* It is not the stiff contact modes. DDA integrates with Newmark β = ½, γ = 1
  (v₁ = 2D/Δt − v₀), whose modes at ω·Δt ≈ 14 decay only 4 % per step; raising β to damp them
  (0.51, 0.525, 0.6, 1.0: 12, 25, 58, ~100 % per step at ω·Δt = 14) leaves 2.83, 2.80, 2.46,
  1.93 solves per step (2.86 at β = ½). The changes come from contacts on the friction cone:
  the corners of the horizontal joints, where the Poisson mismatch of two rows (~0.4 µm, i.e.
  ~3 block weights in the shear spring) exceeds μN near the top, swing across the cone with
  the stack's physical ring (its 60 ms mode): reversals that lock are 1.3 × tol_shear
  (median), locked contacts that slide exceed F_max by 35 % (median), 5–20 % of their blocks'
  force scale.
* Deferring those changes does not pay: counting only locked→sliding changes 3.05 solves per
  step, only closings 3.4 (the deferred changes make the next step start further from its
  states); a looser friction tolerance 4.3 (10 %) and 4.7 (30 %); tol_shear × 10 7.3
  (friction then pushes the wrong way and pumps the ring); freeze_after 2 2.87; starting a
  step from the states of the step before the last (period-2 flips) 3.33.

Why the opening band stays tight (measured, benchmarks/dda_vs_ntdda.py's stacks): most
re-solves of a settling stack come from contacts near zero force that open on nanometres
of tension (tol_open = 10⁻⁹ w0) and close again 200× deeper (tol_close = 2·10⁻⁷ w0) with a
large force jump. An opening band equal to the closing band (Shi's f0) removes that chatter
(10 × 10 stack 2.50 → 1.03 solves per step over 200 steps; 30 × 30 1.005, as fast per step
as ntdda), but it is a tensile strength p_n·tol_open of the order of a block weight: a tall
block on an incline no longer topples and a block at a reflex corner stays stuck
(tests/test_dda_verification.py, tests/test_dda_geometry.py). Deferring small openings to the
next step instead (not counting them as changes) does not cut the re-solves (2.85 per step).

What the per-contact criterion costs (measured, tests/test_dda_stack.py's stacks, 2026-12):
the 30 × 30 stack drifts 0.165 mm instead of 0.93 mm in 0.2 s, but takes 6.5 solves per step
instead of 5.0. A looser tolerance does not buy them back (10 × 10 stack: 3.72 solves per
step at 1 %, 3.46 at 3 %, 3.62 at 10 %; dropping small changes instead of deferring them:
3.94 / 3.48): the changes that re-solve are 5–90 % of their own blocks' force scale and
recur every step as the stack rings (slip reversals of the corners on the horizontal joints,
tension on the vertical joints of the top rows). ntdda avoids them by never re-solving for a
shear-state change and by its opening band p_n f0 w0 (24 block weights on the 10 × 10 stack),
a tensile strength. Here, slip reversals deferred to the next step without counting them
leave 3.94 solves per step (the others take their place), and never locking a reversing
contact lets friction pump energy into the stack (10 × 10 top corner 2 mm in 50 ms).

A joint that opens or slides loses its cohesion and tensile strength for good (bonded →
False).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from dda.contact_detect import Contacts
from dda.contact_law import LOCKED, OPEN, SLIDING


#: a locked contact slips only when its shear force exceeds the strength by this fraction
#: (limit equilibrium, φ = θ, holds rather than creeping on round-off)
SLIP_RTOL = 1e-6


@dataclass
class ContactState:
    """Per-contact history (sorted by ``key``): state, slip sign σ, shear-spring stretch g_s [m],
    normal force N [N], bonded flag, accumulated slip [m], slip rate [m/s], shear force on the
    vertex block along s [N] (after the accepted step); vertex: the contacting vertex;
    law_state (nc, S): the joint law's state (e.g. band temperature and pore pressure),
    changed only at the end of an accepted step (dda.contact_law.advance_joint_state)."""

    key: np.ndarray
    state: np.ndarray
    sign: np.ndarray
    stretch: np.ndarray
    normal_force: np.ndarray
    bonded: np.ndarray
    slip: np.ndarray
    slip_rate: np.ndarray
    shear_force: np.ndarray
    # joint-law history (learned.JointLaw.n_state columns) and the vertex that carries it
    vertex: np.ndarray = None  # type: ignore[assignment]
    law_state: np.ndarray = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.vertex is None:
            self.vertex = np.full(self.key.size, -1, dtype=np.int64)
        if self.law_state is None:
            self.law_state = np.zeros((self.key.size, 0))

    @classmethod
    def empty(cls, n_state: int = 0) -> "ContactState":
        z = np.zeros(0)
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8), z, z, z, np.zeros(0, dtype=bool), z, z, z,
                   np.zeros(0, dtype=np.int64), np.zeros((0, n_state)))

    def copy(self) -> "ContactState":
        return ContactState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    @property
    def size(self) -> int:
        return int(self.key.size)


def transfer(
    prev: ContactState, c: Contacts, pn: float, bond_new: np.ndarray, touch_tol: float = 0.0, n_state: int = 0,
    nxt: np.ndarray | None = None, vertex_band: np.ndarray | None = None,
) -> ContactState:
    """Carry contact history to the contacts found at the start of a step (matched by key).

    New contacts start LOCKED when they touch or penetrate (gap ≤ ``touch_tol`` [m]), else
    OPEN (a block placed at rest on a slope starts at rest); ``bond_new`` (nc,) says
    which new contacts start bonded (intact joints at the first step). The joint-law state
    (n_state columns) is that of the band the contact's vertex shears, and it follows the key.
    A contact that carried no load in the previous step (new, or OPEN then) takes instead, in
    this order:

    Only contacts that carry a band (a law state that is not all zero: a contact of a law without
    state, such as the rock joint between two blocks, has zeros) pass theirs on.

    1. the law state of the loaded (not OPEN) previous contact of its vertex: a vertex sliding
       from one edge of the slip surface onto the next keeps the heated, pressurised band it
       carries, whether or not the contact with the next edge was already in the list as an
       open contact (it is once the vertex is within the search distance d0 = 2.5 g2 w0 of that
       edge, so before session 20 the band restarted cold or not depending on d0);
    2. with ``nxt`` (the global ``Polygons.nxt``; keys are vertex·nv + edge, nv = nxt.size),
       that of its loaded vertex–vertex twin: the previous contact of one of its edge's two
       vertices on an edge that ends at its own vertex, i.e. the same two touching corners seen
       from the other block (which of them is "the vertex" flips as they move); where two faces
       lie on each other it is the other end of the same face contact, the same pair's band;
    3. if it still has no band (all zeros), with ``vertex_band`` ((nv, S),
       :attr:`dda.State.vertex_band`) the band its vertex last carried in a loaded contact, if
       any: a corner that bounced off the slip surface beyond the search distance (its contacts
       dropped) lands on the band it left. That band is kept as it was then (no drainage while
       the corner is off it: t_d = h²/α_hy = 100 s at Vajont, flights shorter than 1 s).

    (Before session 20: a new contact took the state of any previous contact of its vertex, a
    rock-joint contact's zeros included, and nothing else; the Vajont blocks' corners lifted off
    in the arrival and landed on a cold, drained band, with normal forces of 3-10 times the
    slide's weight: the band's largest temperature rise came from those landings.)
    Otherwise a contact keeps its own state. Measured on cases/vajont.toml (session 20): the
    crest's two corners flipped at the onset (t = 11.0 s with the shipped d0; at 1.6 s, in the
    static settling, with d0/4) and the band there was heated twice, 2.9 K of the band's mean
    22.8 K at onset + 2 s against 20.0 K with d0/4.
    """
    nc = c.size
    if prev.size:
        idx = np.minimum(np.searchsorted(prev.key, c.key), prev.size - 1)
        found = prev.key[idx] == c.key
    else:
        idx = np.zeros(nc, dtype=np.int64)
        found = np.zeros(nc, dtype=bool)

    missing = None if prev.size and bool(np.all(found)) else ~found

    def take(a: np.ndarray, default) -> np.ndarray:  # a[idx] where found, else default
        if not prev.size:
            return np.full(nc, default, dtype=a.dtype)
        out = a[idx]
        if missing is not None:
            out[missing] = default
        return out

    state = take(prev.state, OPEN)
    touching = c.gap <= touch_tol
    state = np.where(found, np.where((state == OPEN) & (c.gap < 0), LOCKED, state), np.where(touching, LOCKED, OPEN)).astype(np.int8)
    stretch = np.where(state == LOCKED, take(prev.stretch, 0.0), 0.0)
    normal = np.where(found, take(prev.normal_force, 0.0), np.maximum(-pn * c.gap, 0.0))
    bonded = np.where(found, take(prev.bonded, False), bond_new)
    # joint-law state: see the docstring (by key; a contact that carried no load takes the band of
    # its vertex's loaded contact, else of its loaded vertex–vertex twin; a new one else its vertex's)
    law_state = np.zeros((nc, n_state))
    todo = np.arange(nc) if n_state else np.zeros(0, dtype=np.int64)
    if n_state and prev.size and prev.law_state.shape[1] == n_state:
        law_state[found] = prev.law_state[idx[found]]
        was_open = np.ones(nc, dtype=bool)
        was_open[found] = prev.state[idx[found]] == OPEN
        todo = np.flatnonzero(was_open)
        carries = np.any(prev.law_state != 0.0, axis=1)  # a band's state (a contact of a law without one: zeros)
        loaded = np.flatnonzero((prev.state != OPEN) & carries)
        if todo.size and loaded.size:
            # 1. the loaded contact of the same vertex (the first by key)
            lv = prev.vertex[loaded]
            lorder = np.argsort(lv, kind="stable")
            pos = np.minimum(np.searchsorted(lv[lorder], c.vtx[todo]), loaded.size - 1)
            hit = lv[lorder][pos] == c.vtx[todo]
            law_state[todo[hit]] = prev.law_state[loaded[lorder[pos[hit]]]]
            todo = todo[~hit]
            # 2. the loaded vertex–vertex twin: a contact of an end of this contact's edge on an
            #    edge that ends at this contact's vertex
            if nxt is not None and todo.size:
                nv = int(nxt.size)
                pv, pe = prev.key[loaded] // nv, prev.key[loaded] % nv
                code = np.concatenate([pv * nv + pe, pv * nv + nxt[pe]])
                src = np.concatenate([loaded, loaded])
                order = np.argsort(code, kind="stable")
                code, src = code[order], src[order]
                v, a = c.key[todo] // nv, c.key[todo] % nv
                left = np.ones(todo.size, dtype=bool)
                for end in (a, nxt[a]):
                    q = end * nv + v
                    at = np.minimum(np.searchsorted(code, q), code.size - 1)
                    ok = left & (code[at] == q)
                    law_state[todo[ok]] = prev.law_state[src[at[ok]]]
                    left &= ~ok
                todo = todo[left]
    # 3. a contact still without a band: the one its vertex last carried while loaded
    if vertex_band is not None and vertex_band.shape[1] == n_state and todo.size:
        todo = todo[~np.any(law_state[todo] != 0.0, axis=1)]
        vb = vertex_band[c.vtx[todo]]
        has = np.any(vb != 0.0, axis=1)
        law_state[todo[has]] = vb[has]
    return ContactState(
        key=c.key.copy(),
        state=state,
        sign=take(prev.sign, 1.0),
        stretch=stretch,
        normal_force=normal,
        bonded=bonded,
        slip=take(prev.slip, 0.0),
        slip_rate=take(prev.slip_rate, 0.0),
        shear_force=take(prev.shear_force, 0.0),
        vertex=c.vtx.copy(),
        law_state=law_state,
    )


def update_states(
    cs: ContactState,
    dn: np.ndarray,
    ds: np.ndarray,
    pn: float,
    ps: float,
    fmax: np.ndarray,
    tmax: np.ndarray,
    tol_open: float,
    tol_close: float | None = None,
    tol_shear: float = 0.0,
    friction_prev: np.ndarray | None = None,
    gap_start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """New (state, sign, bonded, stretch) after a solve, and per contact the force [N] that
    its state change corrects (0 where the state is unchanged).

    dn : normal gap after the step [m] (< 0 penetration); ds : shear increment [m];
    fmax, tmax : shear strength and tensile capacity [N] at the solved normal force;
    tol_open : tension band [m] (p_n·tol) before a closed contact opens; tol_close :
    penetration [m] before an open contact closes (default tol_open); tol_shear : slip
    reversal [m] before a sliding contact locks; friction_prev : the friction force [N]
    the sliding contacts carried in this solve: a contact that locks starts its shear
    spring at that force (g_s = σ F_f / p_s), so locking does not drop the shear force.

    A closing contact closes LOCKED when its shear spring could hold the slip it makes after
    touching, else SLIDING (σ = sign of that slip; Shi 1988 §4.3, ntdda's df22): with
    ``gap_start`` g₀ [m] (the gap at the start of the step) it touches at the fraction
    t₀ = g₀ / (g₀ − d_n) ∈ [0, 1] of the step (0 when g₀ ≤ 0), and locks when

        p_s |(1 − t₀) Δd_s| ≤ F_max(N = p_n |d_n|)        (``fmax`` evaluated at that N).

    Without ``gap_start`` every closing contact closes LOCKED (a block thrown along a base
    then hits a locked spring at every landing of a corner and is stopped: the shear spring
    throws it back, see tests/test_dda_openclose.py).

    The corrected force of a change: O→closed p_n|d_n| (missing contact force; the time
    loop replaces p_n by :func:`closing_stiffness`), closed→O p_n d_n (spurious tension),
    L→S |F_s| − F_max (shear above strength), S→L min(p_s|d_s|, 2 F_f) (friction pushing
    the wrong way: locking moves the shear force within [−F_f, F_f]).
    """
    tol_close = tol_open if tol_close is None else tol_close
    st = cs.state
    closed = st != OPEN
    to_close = (st == OPEN) & (dn < -tol_close)
    to_open = closed & (pn * dn > tmax + pn * tol_open)
    fs = ps * (cs.stretch + ds)
    to_slide = (st == LOCKED) & ~to_open & (np.abs(fs) > fmax * (1.0 + SLIP_RTOL))
    to_lock = (st == SLIDING) & ~to_open & (cs.sign * ds < -tol_shear)
    close_slide = np.zeros(st.size, dtype=bool)
    if gap_start is not None:
        t0 = np.where(gap_start > 0, gap_start / np.maximum(gap_start - dn, 1e-300), 0.0)
        slip_after = (1.0 - np.minimum(np.maximum(t0, 0.0), 1.0)) * ds  # np.clip(t0, 0, 1), without its wrapper
        close_slide = to_close & (ps * np.abs(slip_after) > fmax * (1.0 + SLIP_RTOL))
    new = st.copy()
    new[to_close] = LOCKED
    new[close_slide] = SLIDING
    new[to_open] = OPEN
    new[to_slide] = SLIDING
    new[to_lock] = LOCKED
    sign = np.where(to_slide, np.sign(fs) + (fs == 0), cs.sign)
    sign = np.where(close_slide, np.sign(ds) + (ds == 0), sign)
    bonded = cs.bonded & ~to_open & ~to_slide & ~close_slide
    stretch = cs.stretch
    if friction_prev is not None:
        stretch = np.where(to_lock, cs.sign * friction_prev / ps, stretch)
    jump = np.zeros(st.size)
    jump = np.where(to_close | to_open, pn * np.abs(dn), jump)
    jump = np.where(to_slide, np.abs(fs) - fmax, jump)
    lock_jump = ps * np.abs(ds) if friction_prev is None else np.minimum(ps * np.abs(ds), 2.0 * np.abs(friction_prev))
    jump = np.where(to_lock, lock_jump, jump)
    return new.astype(np.int8), sign, bonded, stretch, jump


def closing_stiffness(
    sel: np.ndarray, ci: np.ndarray, cj: np.ndarray, wn: np.ndarray, Kc: np.ndarray, Kb: np.ndarray,
    fixed: np.ndarray, pn: float, block_stiffness: np.ndarray | None = None,
) -> np.ndarray:
    """Normal stiffness [N/m] that the contacts ``sel`` would have once closed: the penalty
    spring in series with their two blocks, each held by its own inertia and elasticity
    (Kb) and its current contact springs (Kc) with the neighbours held still,

        1/k = 1/p_n + w_iᵀ K_ii⁻¹ w_i + w_jᵀ K_jj⁻¹ w_j   (no term for a fixed block).

    With the neighbours held still this is an upper bound of the true stiffness, tighter
    than p_n alone: a block flying into another can only be stopped by its own inertia.

    ``block_stiffness`` (nb, 6, 6): K_b + Σ of the contact diagonal blocks per block, when the
    contacts on a block are spread over MPI ranks (summed by the caller); default: summed here."""
    sel = np.flatnonzero(sel)
    if sel.size == 0:
        return np.zeros(0)
    comp = np.full(sel.size, 1.0 / pn)
    # both sides at once: the K of every block needed (each block's sum is K_b, then its
    # vertex-side contact blocks, then its edge-side ones, each in contact order, whichever
    # other blocks are summed with it), one batched solve (LAPACK per 6 × 6 matrix)
    fi, fj = ~fixed[ci[sel]], ~fixed[cj[sel]]
    si, sj = sel[fi], sel[fj]
    if si.size + sj.size == 0:
        return 1.0 / comp
    # the blocks needed, ascending (ub), and where each is in ub (lut): np.unique's result
    blocks = np.concatenate([ci[si], cj[sj]])
    need = np.zeros(fixed.size, dtype=bool)
    need[blocks] = True
    ub = np.flatnonzero(need)
    lut = np.empty(fixed.size, dtype=np.int64)
    lut[ub] = np.arange(ub.size)
    inv = lut[blocks]
    if block_stiffness is None:
        K = Kb[ub].copy()
        for other, osl in ((ci, slice(0, 6)), (cj, slice(6, 12))):
            hit = np.flatnonzero(need[other])
            # K[pos] += the contact's diagonal block, in contact order: np.add.at on the flat entries
            # (the same sums in the same order as on (6, 6) blocks, 2.5× faster)
            np.add.at(K.reshape(-1), (lut[other[hit], None] * 36 + np.arange(36)).ravel(), Kc[hit, osl, osl].reshape(-1))
    else:
        K = block_stiffness[ub]
    w = np.concatenate([wn[si, 0:6], wn[sj, 6:12]])
    x = np.linalg.solve(K[inv], w[:, :, None])[:, :, 0]
    q = np.sum(w * x, axis=1)
    comp[fi] += q[: si.size]
    comp[fj] += q[si.size :]
    return 1.0 / comp


def block_force_scale(
    ci: np.ndarray, cj: np.ndarray, normal_force: np.ndarray, weight: np.ndarray, fixed: np.ndarray,
    block_scale: np.ndarray | None = None,
) -> np.ndarray:
    """Force scale [N] of each contact: that of the lighter of its free blocks, where a
    block's scale is its weight plus the normal forces of its closed contacts,

        S_b = m_b |g| + Σ_{c ∋ b} N_c,      S_c = min(S_i, S_j) over the free blocks of c.

    ci, cj : (nc,) block indices; normal_force : (nc,) [N] (0 for open contacts); weight :
    (nb,) [N]; fixed : (nb,) bool. A contact between two fixed blocks gets +inf.
    ``block_scale`` (nb,) [N]: S_b summed by the caller, when the contacts on a block are
    spread over MPI ranks (dda.simulation sums them in the order used here)."""
    nb = weight.size
    if block_scale is None:
        N = np.maximum(normal_force, 0.0)
        S = weight + np.bincount(ci, N, minlength=nb) + np.bincount(cj, N, minlength=nb)
    else:
        S = block_scale
    S = np.where(fixed, np.inf, S)
    return np.minimum(S[ci], S[cj])


def locked_friction_excess(state: np.ndarray, shear_force: np.ndarray, fmax: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Per contact, how far a LOCKED contact's shear force exceeds its strength, relative to the
    force scale of its own blocks (0 for open and sliding contacts, and for locked ones within
    their strength):

        e_c = max(|F_s| − F_max (1 + SLIP_RTOL), 0) / S_c        [-]

    shear_force F_s [N], fmax F_max [N] at the contact's normal force, scale S_c [N]
    (:func:`block_force_scale`). The friction guarantee of a converged step is
    e_c ≤ ``oc_force_tolerance`` for every contact (a locked contact above its strength by more
    than that re-solves as SLIDING)."""
    excess = np.abs(shear_force) - fmax * (1.0 + SLIP_RTOL)
    return np.where(state == LOCKED, np.maximum(excess, 0.0) / scale, 0.0)


def significant_changes(old: np.ndarray, new: np.ndarray, jump: np.ndarray, scale: np.ndarray, rtol: float) -> np.ndarray:
    """State changes that matter (bool mask): those whose corrected force ``jump`` [N] exceeds
    ``rtol`` × the force scale of the contact's own blocks ``scale`` [N] (see
    :func:`block_force_scale`); every change counts when ``rtol`` is 0."""
    return (new != old) & (jump > rtol * scale)


def freeze_oscillating(
    old: np.ndarray, new: np.ndarray, flips: np.ndarray, freeze_after: int = 3
) -> tuple[np.ndarray, np.ndarray, int]:
    """Count state flips per contact; contacts that flipped ``freeze_after`` times are frozen
    SLIDING (closed: no penetration through them; and on the friction cone: a sliding
    contact carries exactly its strength, so freezing never leaves a locked contact above
    its strength — frozen LOCKED, a contact that flipped open/closed kept a shear spring
    stretched far beyond F_max: a thrown block was stopped within 3 steps). Returns
    (new states, flips, number of changes that still count); the caller sets the slip sign
    σ of a contact frozen into SLIDING from another state (sign of its shear force)."""
    changed = new != old
    flips = flips + changed
    frozen = changed & (flips >= freeze_after)
    if np.any(frozen):
        new = np.where(frozen, SLIDING, new).astype(np.int8)
    return new, flips, int(np.count_nonzero(new != old))
