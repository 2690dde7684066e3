"""The NMM model: domain + cover mesh + discontinuities + law + order → a solvable system.

Order-1 covers make the global system singular: P1 partition of unity × linear cover
functions are linearly dependent (Σ_i w_i (x − x_i) = 0 and Σ_i w_i [y_i(x − x_i) −
x_i(y − y_i)] = 0 on every element: 3 null modes per scalar field and connected piece,
and more where cut pieces touch through a single cover). We write the cover functions in
scaled local coordinates ξ = (x − x_i)/h_i, η = (y − y_i)/h_i and add a small diagonal
stabilisation δ·K_aa on the linear dofs (b_i, c_i), K_aa being the stiffness diagonal of
the cover's constant dof (δ = ``stabilisation``, 1e-8 by default). The null modes carry no
displacement, so they do not change u(x); a linear field (b = c = 0) stays an exact
solution, so the patch test holds to round-off; elsewhere the bias is O(δ).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
from scipy.sparse import csr_matrix

from learned import ConstitutiveLaw
from nmm.approximation import element_dofs, n_functions, shape_functions, strain_matrix, value_matrix
from nmm.assembly import MPI, Assembler
from learned.boundary import Point, evaluate_at
from nmm.boundary import Dirichlet, PointConstraint, PointLoad, Traction, boundary_quadrature, eval_value
from nmm.covers import build_manifold
from nmm.discontinuity import Crack, Joint, validate_discontinuities
from nmm.errors import InputError
from nmm.geometry import Domain
from nmm.mesh import CoverMesh

if TYPE_CHECKING:  # pragma: no cover
    from learned.contract import StepRecord
    from nmm.result import NMMResult


class ManifoldModel:
    """A 2D NMM model (unit thickness, SI units).

    domain     : :class:`Domain` (or an (n,2) outer polygon [m])
    mesh       : :class:`CoverMesh`, the mathematical cover mesh (need not conform), points (n,2) [m]
    cracks     : traction-free :class:`Crack` polylines
    joints     : :class:`Joint` polylines with contact and a joint law
    law        : a ``learned.ConstitutiveLaw`` (plane strain/stress is the law's)
    order      : cover function order, 0 (constant) or 1 (linear)
    density    : ρ [kg/m³] for mass and gravity
    penalty    : β, Nitsche parameter α = β E_ref / h (point springs β E_ref)

    Loads and supports are added with :meth:`add` (:class:`Dirichlet` values [m],
    :class:`Traction` [Pa], :class:`PointLoad` [N/m]). :meth:`solve` returns an
    :class:`NMMResult`: ``u`` the global cover dofs (n_dofs,) [m and m/m], ``stress_qp``
    (nq_local, 3) [Pa], :meth:`NMMResult.compute_sif` K_I, K_II [Pa √m].
    """

    def __init__(
        self,
        domain: Domain | np.ndarray,
        mesh: CoverMesh,
        *,
        law: ConstitutiveLaw,
        cracks: Sequence[Crack] = (),
        joints: Sequence[Joint] = (),
        order: int = 1,
        density: float = 0.0,
        penalty: float = 100.0,
        stabilisation: float = 1e-8,
        comm: MPI.Comm = MPI.COMM_WORLD,
    ) -> None:
        t0 = time.perf_counter()
        self.domain = domain if isinstance(domain, Domain) else Domain(np.asarray(domain, float))
        if not isinstance(mesh, CoverMesh):
            raise InputError("mesh", type(mesh).__name__, "an nmm.CoverMesh")
        if not isinstance(law, ConstitutiveLaw):
            raise InputError("material.law", type(law).__name__, "a learned.ConstitutiveLaw")
        self.nf = n_functions(order)
        if not density >= 0:
            raise InputError("density", repr(density), "a density >= 0 kg/m^3")
        lo, hi = mesh.points.min(axis=0), mesh.points.max(axis=0)
        dlo, dhi = self.domain.bbox[:2], self.domain.bbox[2:]
        tol = 1e-9 * self.domain.size
        if np.any(dlo < lo - tol) or np.any(dhi > hi + tol):
            raise InputError("mesh", "the cover mesh does not cover the domain", "a mesh whose triangles cover the domain")
        self.cracks = validate_discontinuities(list(cracks), self.domain, "cracks")
        self.joints = validate_discontinuities(list(joints), self.domain, "joints")
        self.mesh, self.law, self.order = mesh, law, order
        self.density, self.penalty, self.stabilisation = float(density), float(penalty), float(stabilisation)
        self.comm = comm
        self.man = build_manifold(self.domain, mesh, [*self.cracks, *self.joints])
        covered = self.man.elem_area().sum()
        if abs(covered - self.domain.area) > 1e-8 * self.domain.area:
            raise InputError("mesh", f"covers {covered:.6g} m^2 of a {self.domain.area:.6g} m^2 domain", "a mesh whose triangles cover the domain")
        self.asm = Assembler(self.man, order, comm)
        self.C_ref = np.asarray(law.reference_stiffness(), float)
        self.E_ref = float(np.max(np.abs(np.diag(self.C_ref))))
        self.bcs: list = []
        self.contact = None
        if self.joints:
            from nmm.contact import JointContact

            self.contact = JointContact(self, self.joints)
        self.body_force: np.ndarray | None = None
        self.initial_stress = None  # callable x (n,2) -> Voigt σ₀ (n,3) [Pa], or None
        self.timings = {"covers": time.perf_counter() - t0}

    # ------------------------------------------------------------------ inputs
    @property
    def ndof(self) -> int:
        """Number of global degrees of freedom."""
        return self.asm.ndof

    def add(self, *items) -> "ManifoldModel":
        """Add boundary conditions / loads (Dirichlet, PointConstraint, Traction, PointLoad)."""
        for it in items:
            if not isinstance(it, (Dirichlet, PointConstraint, Traction, PointLoad)):
                raise InputError("boundary", type(it).__name__, "Dirichlet, PointConstraint, Traction or PointLoad")
            if isinstance(it, Dirichlet) and isinstance(it.where, Point):
                if callable(it.ux) or callable(it.uy):
                    raise InputError("boundary", "a callable value at a Point", "constant ux, uy [m] at a point")
                it = PointConstraint(it.where.x, ux=it.ux, uy=it.uy)
            self.bcs.append(it)
        return self

    def set_body_force(self, b: Sequence[float] | None = None, gravity: Sequence[float] | None = None) -> None:
        """Body force b [N/m³] (constant vector), or gravity g [m/s²] times the density."""
        v = np.zeros(2)
        if b is not None:
            v += np.asarray(b, float)
        if gravity is not None:
            v += self.density * np.asarray(gravity, float)
        self.body_force = v

    def set_initial_stress(self, sigma0) -> None:
        """In-situ stress σ₀ [Pa]: a Voigt triple (σ_xx, σ_yy, τ_xy) or a callable
        x (n,2) → (n,3); None removes it. See the module docstring."""
        if sigma0 is None or callable(sigma0):
            self.initial_stress = sigma0
            return
        s0 = np.asarray(sigma0, float)
        if s0.shape != (3,) or not np.all(np.isfinite(s0)):
            raise InputError("initial_stress", repr(sigma0), "(sigma_xx, sigma_yy, tau_xy) in Pa or a callable")
        self.initial_stress = lambda x: np.broadcast_to(s0, (len(x), 3)).copy()

    def initial_stress_at(self, x: np.ndarray) -> np.ndarray:
        """σ₀ (n,3) [Pa] at points x (n,2) (zeros without initial stress)."""
        x = np.atleast_2d(np.asarray(x, float))
        if self.initial_stress is None:
            return np.zeros((len(x), 3))
        s = np.asarray(self.initial_stress(x), float).reshape(len(x), 3)
        return s

    def initial_traction(self, x: np.ndarray, normal: np.ndarray) -> np.ndarray:
        """σ₀·n (n,2) [Pa]: the traction that holds the in-situ stress on a boundary."""
        return np.einsum("nij,nj->ni", traction_operator(normal), self.initial_stress_at(x))

    # ------------------------------------------------------------------ point data
    def point_matrices(self, x: np.ndarray, elem: np.ndarray | None = None):
        """(elem, Nmat (n,2,nd), dofs (n,nd)) at points x (n,2); raises for points outside Ω."""
        x = np.atleast_2d(np.asarray(x, float))
        if elem is None:
            elem = self.man.locate(x)
        if np.any(elem < 0):
            raise InputError("point", f"{x[np.flatnonzero(elem < 0)[0]].tolist()} is outside the domain", "points inside the domain")
        N, _ = shape_functions(self.man, self.order, x, elem)
        return elem, value_matrix(N), element_dofs(self.man, self.order)[elem]

    def _h_elem(self, elem: np.ndarray) -> np.ndarray:
        return np.sqrt(2 * self.mesh.area[self.man.elem_tri[elem]])

    # ------------------------------------------------------------------ linear terms
    def linear_terms(self) -> tuple[list, np.ndarray]:
        """Penalty blocks [(dofs (n,m), mats (n,m,m))] and loads F_ext (global, N)."""
        blocks, F = [], np.zeros(self.ndof)
        self.nitsche = []  # consistency terms −∫ v·S σ(u) n, evaluated with the law
        ng = self.order + 2
        for k, bc in enumerate(self.bcs):
            key = f"boundary[{k}]"
            if isinstance(bc, (Dirichlet, Traction)):
                q = boundary_quadrature(self.man, self.domain, bc.where, ng, key + ".where")
                _, Nm, dofs = self.point_matrices(q.x, q.elem)
            if isinstance(bc, Dirichlet):
                alpha = self.penalty * self.E_ref / self._h_elem(q.elem) * q.w
                _, dN = shape_functions(self.man, self.order, q.x, q.elem)
                B = strain_matrix(dN)
                Pn = traction_operator(q.normal)  # (n,2,3): t = P_n σ
                G = np.einsum("nij,jk,nkd->nid", Pn, self.C_ref, B)  # σ_ref(v)·n (n,2,nd)
                mask = np.array([bc.ux is not None, bc.uy is not None], float)
                ub = np.zeros((len(q.x), 2))
                for c, val in enumerate((bc.ux, bc.uy)):
                    if val is not None:
                        ub[:, c] = eval_value(val, q.x)
                SN = Nm * mask[None, :, None]
                Kq = alpha[:, None, None] * np.einsum("nid,nie->nde", SN, Nm)
                Kq -= np.einsum("nid,nie->nde", G * q.w[:, None, None], SN)
                blocks.append((dofs, Kq))
                np.add.at(F, dofs, np.einsum("nid,ni->nd", alpha[:, None, None] * SN - G * q.w[:, None, None] * mask[None, :, None], ub))
                self.nitsche.append((dofs, SN, B, Pn, q.w, q.x))
            elif isinstance(bc, PointConstraint):
                _, Nm, dofs = self.point_matrices(np.asarray(bc.point, float)[None])
                kp = self.penalty * self.E_ref
                for c, val in enumerate((bc.ux, bc.uy)):
                    if val is None:
                        continue
                    Nc = Nm[:, c, :]
                    blocks.append((dofs, kp * Nc[:, :, None] * Nc[:, None, :]))
                    np.add.at(F, dofs, kp * float(val) * Nc)
            elif isinstance(bc, Traction):
                if bc.pressure is not None:
                    t = -float(bc.pressure) * q.normal
                elif bc.in_situ:
                    t = self.initial_traction(q.x, q.normal)
                else:
                    t = evaluate_at(bc.value, q.x, 2)
                np.add.at(F, dofs, np.einsum("nij,ni->nj", Nm, t * q.w[:, None]))
            elif isinstance(bc, PointLoad):
                _, Nm, dofs = self.point_matrices(np.asarray(bc.point, float)[None])
                np.add.at(F, dofs, np.einsum("nij,i->nj", Nm, np.asarray(bc.force, float)))
        return blocks, F

    def stabilisation_block(self, Ke: np.ndarray):
        """δ·K_aa on the linear dofs of every cover (order 1), as a diagonal block."""
        if self.nf == 1 or self.stabilisation == 0:
            return None
        diag = self.asm.scatter_add(self.asm.dofs, np.einsum("eii->ei", Ke))
        d = diag.reshape(-1, self.nf, 2)
        s = np.repeat(d[:, :1, :], self.nf - 1, axis=1) * self.stabilisation
        idx = np.arange(self.ndof).reshape(-1, self.nf, 2)[:, 1:, :].ravel()
        return idx[:, None], s.ravel()[:, None, None]

    def stiffness_matrix(self):
        """Global tangent stiffness at u = 0 (volume part only) as a scipy CSR matrix (all ranks)."""
        from scipy.sparse import coo_matrix

        resp = self.law.evaluate(self.asm.strain(np.zeros(self.ndof)))
        Ke = self.asm.element_matrices(np.asarray(resp.tangent))
        nd = Ke.shape[1]
        r = np.repeat(self.asm.dofs, nd, axis=1).ravel()
        c = np.tile(self.asm.dofs, (1, nd)).ravel()
        parts = self.comm.allgather((r, c, Ke.ravel()))
        r, c, v = (np.concatenate([p[i] for p in parts]) for i in range(3))
        return coo_matrix((v, (r, c)), shape=(self.ndof, self.ndof)).tocsr()

    def body_load(self) -> np.ndarray:
        """∫ Nᵀ b dΩ (global). (σ₀ enters the solver through the total stress σ₀ + σ_law.)"""
        if self.body_force is None or not np.any(self.body_force):
            return np.zeros(self.ndof)
        return self.asm.body_force(np.broadcast_to(self.body_force, (len(self.asm.quad.w), 2)))


    # ------------------------------------------------------------------ solves
    def solve(self, *, load_steps: int = 1, duration: float | None = None, dt: float | None = None,
              rtol: float = 1e-9, atol: float = 1e-10, max_iterations: int = 30,
              callback: Callable[["StepRecord"], None] | None = None,
              on_step: Callable[[int, "NMMResult"], None] | None = None,
              initial_guess: np.ndarray | None = None) -> "NMMResult":
        """Static equilibrium in ``load_steps`` proportional steps, or with ``duration`` [s] and
        ``dt`` [s] implicit dynamics over round(duration / dt) steps (the solver contract).

        Newton (with open–close of joint contacts) per step until ‖R_k‖ ≤ max(atol, rtol ‖R₀‖, 1e-13 ‖F_ext‖),
        R₀ the residual [N] at the step's first iteration (the one meaning of rtol/atol in
        every solver, :func:`learned.contract.converged`; with contact rtol ≥ 1e-7, friction
        is lagged). Static: ``callback(record)`` gets a :class:`learned.contract.StepRecord`
        after every residual; ``on_step(step, result)`` (collective) with the result of every
        converged step. Dynamic (:meth:`solve_dynamic`): ``callback`` gets one record per
        accepted time step (time t [s], that step's Newton iterations, residual NaN, as DDA);
        ``on_step(step, snapshot)`` as in :func:`nmm.solve.solve_dynamic`.
        Returns an :class:`nmm.NMMResult` (u (n_dofs,) [m], stress_qp (nq_local, 3) [Pa]);
        raises :class:`nmm.SolverDivergence`
        whose ``result`` is the last converged step (see :func:`nmm.solve.solve_static`).
        ``initial_guess`` (n_dofs,) [m]: Newton starts from it, converging against the cold
        start's ‖R₀‖ (one load step; see :func:`nmm.solve.solve_static`).
        """
        if duration is not None:
            if initial_guess is not None:
                raise InputError("initial_guess", "given with duration", "an initial guess for a static solve only")
            if dt is None or not dt > 0 or not duration > 0:
                raise InputError("dynamics", f"duration={duration}, dt={dt}", "duration > 0 s with dt > 0 s")
            return self._solve_dynamic_with_records(duration, dt, rtol, atol, max_iterations, callback, on_step)
        from nmm.solve import solve_static

        return solve_static(self, load_steps=load_steps, rtol=rtol, atol=atol, max_iterations=max_iterations,
                            callback=callback, on_step=on_step, initial_guess=initial_guess)

    def _solve_dynamic_with_records(self, duration, dt, rtol, atol, max_iterations, callback, on_step) -> "NMMResult":
        """:meth:`solve_dynamic` over round(duration/dt) steps, with StepRecords for ``callback``."""
        from learned.contract import StepRecord

        done = [0]  # Newton iterations up to the previous step

        def step_hook(step, snapshot):
            if callback is not None:
                total = int(np.asarray(snapshot()["iterations"]).item())
                callback(StepRecord(step=step, iterations=total - done[0], residual=float("nan"),
                                    converged=True, time=step * dt))
                done[0] = total
            return on_step(step, snapshot) if on_step is not None else False

        n_steps = max(1, int(round(duration / dt)))
        return self.solve_dynamic(dt=dt, n_steps=n_steps, rtol=rtol, atol=atol, max_iter=max_iterations,
                                  on_step=step_hook if (callback or on_step) else None)

    def solve_dynamic(self, *, dt: float, n_steps: int, probes: np.ndarray | None = None, **kw) -> "NMMResult":
        """Implicit dynamics, DDA scheme: ``n_steps`` of ``dt`` [s] (see :func:`nmm.solve.solve_dynamic`)."""
        from nmm.solve import solve_dynamic

        return solve_dynamic(self, dt, n_steps, probes=probes, **kw)


def traction_operator(n: np.ndarray) -> np.ndarray:
    """P_n (m,2,3) with t = P_n σ for unit normals n (m,2) and Voigt σ = (σ_xx, σ_yy, τ_xy)."""
    P = np.zeros((len(n), 2, 3))
    P[:, 0, 0], P[:, 0, 2] = n[:, 0], n[:, 1]
    P[:, 1, 1], P[:, 1, 2] = n[:, 1], n[:, 0]
    return P


def blocks_to_coo(blocks: list, ndof: int):
    """rows, cols, vals and a csr matrix of a list of (dofs, mats) blocks."""
    if not blocks:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0), csr_matrix((ndof, ndof))
    rows = np.concatenate([np.repeat(d, d.shape[1], axis=1).ravel() for d, _ in blocks])
    cols = np.concatenate([np.tile(d, (1, d.shape[1])).ravel() for d, _ in blocks])
    vals = np.concatenate([m.ravel() for _, m in blocks])
    return rows, cols, vals, csr_matrix((vals, (rows, cols)), shape=(ndof, ndof))
