"""Contact across joints: penalty springs with the open–close iteration (as in DDA).

Along each joint, Gauss points x_g carry the jump g = u⁺ − u⁻ = G u (⁺: left of the joint
direction, normal n from − to +, tangent t along the joint). Per point the state is

* open    (g_n k_n > T):            no spring
* stick   (|k_s g_t| ≤ τ_max):      normal spring k_n n⊗n and shear spring k_s t⊗t
* slide   (|k_s g_t| > τ_max):      normal spring, friction traction −τ_max s t as a load
                                      (s: sliding direction)

with σ_n = −k_n g_n > 0 in compression and τ_max from the joint law,
``law.evaluate(σ_n, slip=|g_t|, slip_rate)``; T (tensile strength) and the cohesion act
until a point first opens or slides (then the joint there is broken). After every linear
solve the states are updated (return mapping against the shear-spring anchor of the last
converged step, see :meth:`JointContact.update_states`); the Newton loop ends only when no
state changes (open–close convergence), and :meth:`JointContact.commit` then re-anchors
the springs. Slip rate = |Δg_t|/Δt over the time step in dynamics, 0 in statics.
k_n [Pa/m] defaults to 100 E_ref / h, k_s = k_n / 2.5.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from learned.joint import grouped_strength

from nmm.boundary import split_on_mesh
from nmm.discontinuity import Joint

OPEN, STICK, SLIDE = 0, 1, 2


class JointContact:
    """Contact points of all joints of a model."""

    def __init__(self, model, joints: list[Joint], kn_factor: float = 100.0) -> None:
        self.model = model
        G, dofs, w, x, n, t, kn, ks, jid, arc = [], [], [], [], [], [], [], [], [], []
        for j, joint in enumerate(joints):
            s0 = 0.0  # arc length along the joint at the start of the segment [m]
            for a, b in joint.segments:
                d = (b - a) / np.linalg.norm(b - a)
                nrm = np.array([-d[1], d[0]])
                qp = split_on_mesh(model.man, a, b, nrm, model.order + 2)
                qm = split_on_mesh(model.man, a, b, -nrm, model.order + 2)
                if len(qp.x) != len(qm.x) or not np.allclose(qp.x, qm.x):
                    raise RuntimeError("joint quadrature mismatch between the two faces")
                _, Np, dp = model.point_matrices(qp.x, qp.elem)
                _, Nm, dm = model.point_matrices(qm.x, qm.elem)
                G.append(np.concatenate([Np, -Nm], axis=2))
                dofs.append(np.concatenate([dp, dm], axis=1))
                w.append(qp.w)
                x.append(qp.x)
                n.append(np.tile(nrm, (len(qp.w), 1)))
                t.append(np.tile(d, (len(qp.w), 1)))
                h = model._h_elem(qp.elem)
                k = joint.kn if joint.kn is not None else kn_factor * model.E_ref / h
                k = np.broadcast_to(np.asarray(k, float), h.shape)
                kn.append(k)
                ks.append(np.broadcast_to(np.asarray(joint.ks, float), h.shape) if joint.ks is not None else k / 2.5)
                jid.append(np.full(len(h), j))
                arc.append(s0 + (qp.x - a) @ d)
                s0 += float(np.linalg.norm(b - a))
        cat = lambda xs, shape: np.concatenate(xs) if xs else np.zeros(shape)  # noqa: E731
        nd2 = 2 * model.asm.dofs.shape[1]
        self.G, self.dofs = cat(G, (0, 2, nd2)), cat(dofs, (0, nd2)).astype(np.int64)
        self.w, self.n, self.t = cat(w, (0,)), cat(n, (0, 2)), cat(t, (0, 2))
        self.x = cat(x, (0, 2))  # the contact points [m]
        self.kn, self.ks, self.jid = cat(kn, (0,)), cat(ks, (0,)), cat(jid, (0,)).astype(np.int64)
        #: (N,) arc length of each point along its joint from the joint's first vertex [m]
        self.arc = cat(arc, (0,))
        self.joints = joints
        m = len(self.w)
        self.state = np.full(m, STICK)  # joints start closed and locked
        self.broken = np.zeros(m, bool)
        self.sigma_n = np.zeros(m)
        self.tau = np.zeros(m)
        self.dtau = np.zeros(m)  # ∂τ_max/∂σ_n [-] at the last update (the friction tangent)
        self.slip_rate = np.zeros(m)
        self.gt0 = np.zeros(m)  # slip at which a stick point locked (anchor of the shear spring)
        self.sdir = np.zeros(m)  # sliding direction (sign of the slip increment)

    def pattern(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) of the contact springs' matrix entries, for the fixed sparsity pattern."""
        nd = self.dofs.shape[1]
        return np.repeat(self.dofs, nd, axis=1).ravel(), np.tile(self.dofs, (1, nd)).ravel()

    def jumps(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normal opening g_n and tangential slip g_t [m] at the contact points."""
        g = np.einsum("nij,nj->ni", self.G, u[self.dofs])
        return (g * self.n).sum(1), (g * self.t).sum(1)

    def _grouped(self, sigma_n: np.ndarray, slip: np.ndarray):
        laws = {j: joint.law for j, joint in enumerate(self.joints)}
        return grouped_strength(laws, self.jid, sigma_n, slip, self.slip_rate, ~self.broken)

    def _tension(self) -> np.ndarray:
        n = len(self.jid)
        return self._grouped(np.zeros(n), np.zeros(n))[2] if n else np.zeros(0)

    def begin_step(self, u: np.ndarray, dt: float | None = None) -> None:
        """Start a load/time step at the converged u: slip rates are measured from here
        (|Δg_t| / dt in dynamics; 0 in statics, where ``dt`` is None)."""
        self._gt_start = self.jumps(u)[1]
        self._dt = dt

    _SAVED = ("state", "sigma_n", "tau", "dtau", "gt0", "sdir", "broken", "slip_rate")

    def snapshot(self) -> dict:
        """Copies of the contact state arrays (to retry a step)."""
        return {k: getattr(self, k).copy() for k in self._SAVED}

    def restore(self, saved: dict) -> None:
        """Restore the contact states saved by :meth:`snapshot`."""
        for k, v in saved.items():
            setattr(self, k, v.copy())

    def commit(self, u: np.ndarray) -> None:
        """End of a converged step: sliding points keep their plastic slip (the shear spring
        is re-anchored on the friction cone), open points release it, and a point that has
        opened or slid loses its cohesion and tensile strength."""
        gn, gt = self.jumps(u)
        slide, opened = self.state == SLIDE, self.state == OPEN
        self.gt0 = np.where(slide, gt - self.sdir * self.tau / self.ks, self.gt0)
        self.gt0 = np.where(opened, gt, self.gt0)
        self.broken |= self.state != STICK

    def update_states(self, u: np.ndarray) -> bool:
        """Open–close update at u (penalty Coulomb friction with return mapping); True when
        any state changed.

        Per point: open when σ_n = −k_n g_n < −T; else the trial shear traction
        τ* = k_s (g_t − g_t0) with the anchor g_t0 of the last converged step: stick when
        |τ*| ≤ τ_max, slide (friction −τ_max sign(τ*)) otherwise. The anchor moves only in
        :meth:`commit`, so the states are a function of u within a step (no chasing).
        A point that slid in the previous iteration keeps sliding until |τ*| falls below
        0.9 τ_max (a small hysteresis band against stick–slip chatter).
        """
        gn, gt = self.jumps(u)
        if getattr(self, "_gt_start", None) is not None and self._dt:
            self.slip_rate = np.abs(gt - self._gt_start) / self._dt
        sn = -self.kn * gn
        # a closed point opens when its tension exceeds T plus a small band (1e-3 of the
        # largest contact pressure), an open one closes on penetration: no open–close chatter
        band = 1e-3 * max(float(np.max(sn, initial=0.0)), 1e-300)
        was_closed = self.state != OPEN
        closed = np.where(was_closed, sn >= -self._tension() - band, sn >= -self._tension())
        friction, cohesion, _, mu = self._grouped(np.maximum(sn, 0.0), np.abs(gt))
        tau_max = friction + cohesion
        trial = self.ks * (gt - self.gt0)
        limit = np.where(self.state == SLIDE, 0.9 * tau_max, tau_max)
        slide = closed & (np.abs(trial) > limit)
        new = np.where(closed, np.where(slide, SLIDE, STICK), OPEN)
        self.sdir = np.where(slide, np.sign(trial), self.sdir)
        changed = bool(np.any(new != self.state))
        self.state, self.sigma_n, self.tau = new, np.where(new == OPEN, 0.0, sn), tau_max
        self.dtau = np.where((sn > 0.0) & (friction > 0.0), mu, 0.0)
        return changed

    def linearise(self, u: np.ndarray):
        """(K_c as csr, friction load f_c, tangent block values) for the current states.

        The contact force on the structure is f_c − K_c u: normal springs k_n Gₙᵀ Gₙ at closed
        points, shear springs k_s Gₜᵀ Gₜ at stick points, and at sliding points the friction
        f = −w s τ_max(σ_n) Gₜᵀ with σ_n = −k_n g_n = −k_n Gₙ u. The tangent block values
        (the Jacobian −∂(f_c − K_c u)/∂u) add the friction's dependence on the normal gap,

            −w s (∂τ_max/∂σ_n) k_n Gₜᵀ Gₙ        (non-symmetric; ∂τ_max/∂σ_n = μ for Coulomb),

        so that with the states fixed the Newton step is exact for a linear law. Without it
        (friction lagged at the previous iterate) the iteration is a fixed point on σ_n,
        which did not converge on fine covers of cases/nmm_jointed_tunnel.toml (the friction
        on a wedge of sliding joints fed back with a gain > 1 until whole joints opened and
        the roof block became a mechanism: |R|/|R0| ~ 1e43, session 14).
        """
        closed = (self.state != OPEN) * self.w
        stick = (self.state == STICK) * self.w
        Gn = np.einsum("nid,ni->nd", self.G, self.n)
        Gt = np.einsum("nid,ni->nd", self.G, self.t)
        blocks = (closed * self.kn)[:, None, None] * Gn[:, :, None] * Gn[:, None, :]
        blocks += (stick * self.ks)[:, None, None] * Gt[:, :, None] * Gt[:, None, :]
        slide = (self.state == SLIDE) * self.w
        fvals = (-(slide * self.tau * self.sdir) + stick * self.ks * self.gt0)[:, None] * Gt
        ndof = self.model.ndof
        fc = np.bincount(self.dofs.ravel(), fvals.ravel(), minlength=ndof)
        r, c = self.pattern()
        Kc = csr_matrix((blocks.ravel(), (r, c)), shape=(ndof, ndof))
        tangent = blocks - (slide * self.sdir * self.dtau * self.kn)[:, None, None] * Gt[:, :, None] * Gn[:, None, :]
        return Kc, fc, tangent.ravel()

    def window_normal_stress(self, sigma_n: np.ndarray, length: float, counted: np.ndarray | None = None):
        """Mean normal traction over a window of the joint of length ``length`` = ℓ [m] centred
        at every contact point: ((N,) means [Pa], (N,) valid),

            σ̄_n(x_g) = Σ_{h: |s_h − s_g| ≤ ℓ/2} w_h σ_n(x_h) / Σ_{h: |s_h − s_g| ≤ ℓ/2} w_h,

        s the arc length along the point's joint (:attr:`arc`), w the Gauss weights [m],
        σ_n (N,) the traction at the points [Pa] (0 where open): the normal force the window
        transmits per unit length. ``valid``: every point of the window is ``counted`` (all
        when None). Why not the point values σ_n = −k_n g_n: the gap g_n is the difference of
        the two faces' interpolants and the penalty (k_n ≫ E/h) holds it near 0 only in the
        mean over a cell's points, so neighbouring Gauss points of one cell scatter by ±10 %
        about the mean and their maximum moves from cover to cover (cases/nmm_jointed_tunnel.toml:
        +2.3 % halved, +5.3 % on the cover between); the mean over a fixed length converges
        (0.3 %, session 14). The mean over each cell's piece of the joint does not (+4.6 %
        halved): pieces shrink with the cover and a short one is a point value again."""
        n = len(self.w)
        mean, valid = np.zeros(n), np.zeros(n, dtype=bool)
        bad = np.zeros(n, dtype=bool) if counted is None else ~np.asarray(counted, dtype=bool)
        for j in np.unique(self.jid):
            idx = np.flatnonzero(self.jid == j)
            idx = idx[np.argsort(self.arc[idx], kind="stable")]
            s, w = self.arc[idx], self.w[idx]
            cw = np.r_[0.0, np.cumsum(w)]
            cf = np.r_[0.0, np.cumsum(w * sigma_n[idx])]
            cb = np.r_[0, np.cumsum(bad[idx])]
            lo = np.searchsorted(s, s - 0.5 * length, "left")
            hi = np.searchsorted(s, s + 0.5 * length, "right")
            mean[idx] = (cf[hi] - cf[lo]) / (cw[hi] - cw[lo])
            valid[idx] = cb[hi] == cb[lo]
        return mean, valid

    def summary(self) -> dict:
        """Counts of contact points: ``points``, ``open``, ``stick``, ``slide``."""
        return {
            "points": int(len(self.w)),
            "open": int((self.state == OPEN).sum()),
            "stick": int((self.state == STICK).sum()),
            "slide": int((self.state == SLIDE).sum()),
        }
