"""Vectorised assembly into PETSc (COO) and the MUMPS direct solve.

Manifold elements are partitioned over MPI ranks in contiguous blocks; each rank
evaluates B (nq,3,nd) at its integration points once and forms element matrices

    K_e = Σ_q w_q B_qᵀ C_q B_q  (+ c_M ρ Σ_q w_q N_qᵀ N_q)

with one einsum and a segmented sum (np.add.reduceat). The global matrix is a PETSc
MPIAIJ built with setPreallocationCOO once (fixed pattern: elements + extra "linear"
terms such as penalty springs, stabilisation and contact) and setValuesCOO each time.
Right-hand sides are reduced as dense global numpy vectors (Allreduce). On several ranks
the LU factorisation runs on one rank (deterministic; see :meth:`Assembler.solve`).
"""

from __future__ import annotations

import numpy as np

import dolfinx_solver  # noqa: F401  (loads the wheel's MPI/PETSc before petsc4py)
from mpi4py import MPI
from petsc4py import PETSc

from nmm.approximation import element_dofs, n_functions, shape_functions, strain_matrix, value_matrix
from nmm.covers import Manifold
from nmm.integration import volume_quadrature


class Assembler:
    """Per-rank element data and the global PETSc matrix for one manifold and order."""

    def __init__(self, man: Manifold, order: int, comm: MPI.Comm = MPI.COMM_WORLD) -> None:
        self.man, self.order, self.comm = man, order, comm
        self.nf = n_functions(order)
        self.ndof = man.n_covers * 2 * self.nf
        rank, size = comm.rank, comm.size
        nE = man.n_elements
        # balance by integration-triangle count
        cnt = np.bincount(man.sub_elem, minlength=nE)
        cum = np.cumsum(cnt)
        cuts = np.searchsorted(cum, cum[-1] * np.arange(1, size) / size)
        bounds = np.r_[0, cuts, nE]
        self.elem_lo, self.elem_hi = int(bounds[rank]), int(bounds[rank + 1])
        sel = (man.sub_elem >= self.elem_lo) & (man.sub_elem < self.elem_hi)
        degree = 2 if order == 0 else 4
        self.quad = volume_quadrature(man.sub_xy[sel], man.sub_elem[sel], degree)
        q = self.quad
        self.qelem_local = q.elem - self.elem_lo
        self.dofs = element_dofs(man, order)[self.elem_lo : self.elem_hi]  # (nEl, nd)
        N, dN = shape_functions(man, order, q.x, q.elem)
        self.B = strain_matrix(dN)  # (nq,3,nd)
        self.Nm = value_matrix(N)  # (nq,2,nd)
        self.dN = dN
        self.qdofs = self.dofs[self.qelem_local]  # (nq, nd)
        # segment starts for reduceat (points are grouped by element)
        self.starts = np.flatnonzero(np.r_[True, np.diff(self.qelem_local) != 0])
        self.has_q = np.unique(self.qelem_local)
        self._mat = None
        self._extra = (np.zeros(0, np.int64), np.zeros(0, np.int64))

    # ------------------------------------------------------------------ fields
    def strain(self, u: np.ndarray) -> np.ndarray:
        """Voigt strain (nq,3) at this rank's points from global dofs u."""
        return np.einsum("qij,qj->qi", self.B, u[self.qdofs])

    def displacement(self, u: np.ndarray) -> np.ndarray:
        """Displacement (nq,2) at this rank's points."""
        return np.einsum("qij,qj->qi", self.Nm, u[self.qdofs])

    def allsum(self, v: np.ndarray) -> np.ndarray:
        """Sum of an array over all ranks (the array itself on one rank)."""
        if self.comm.size == 1:
            return v
        out = np.empty_like(v)
        self.comm.Allreduce(v, out, op=MPI.SUM)
        return out

    def scatter_add(self, rows: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """Local contributions → dense global vector (summed over ranks)."""
        return self.allsum(np.bincount(rows.ravel(), vals.ravel(), minlength=self.ndof))

    def internal_force(self, stress: np.ndarray) -> np.ndarray:
        """f_int = Σ_q w_q B_qᵀ σ_q (global, N)."""
        fq = np.einsum("qij,qi->qj", self.B, stress * self.quad.w[:, None])
        return self.scatter_add(self.qdofs, fq)

    def body_force(self, b: np.ndarray) -> np.ndarray:
        """∫ Nᵀ b dΩ for b (nq,2) [N/m³] at this rank's points."""
        fq = np.einsum("qij,qi->qj", self.Nm, b * self.quad.w[:, None])
        return self.scatter_add(self.qdofs, fq)

    def element_matrices(self, tangent: np.ndarray, mass_coeff: float = 0.0, chunk: int = 20000) -> np.ndarray:
        """K_e (nEl, nd, nd) = Σ_q w B^T C B + mass_coeff Σ_q w N^T N (mass_coeff = c·ρ)."""
        nEl, nd = self.dofs.shape
        Ke = np.zeros((nEl, nd, nd))
        w = self.quad.w
        if self.order == 0 and not mass_coeff and len(w):
            # order 0: B is constant on a manifold element (hat-function gradients of its
            # background triangle), so K_e = B_eᵀ (Σ_q w_q C_q) B_e — sum the 3×3 tangents
            # first, then one product per element
            Cw = np.add.reduceat(np.asarray(tangent) * w[:, None, None], self.starts, axis=0)
            Be = self.B[self.starts]
            Ke[self.qelem_local[self.starts]] = np.matmul(Be.transpose(0, 2, 1), np.matmul(Cw, Be))
            return Ke
        for s in range(0, len(w), chunk):
            sl = slice(s, s + chunk)
            B = self.B[sl]
            kq = np.matmul(B.transpose(0, 2, 1), np.matmul(tangent[sl] * w[sl, None, None], B))
            if mass_coeff:
                Nm = self.Nm[sl]
                kq += mass_coeff * np.einsum("qai,qaj->qij", Nm * w[sl, None, None], Nm)
            _segment_add(Ke, self.qelem_local[sl], kq)
        return Ke

    def mass_times(self, v: np.ndarray, rho: float) -> np.ndarray:
        """M v (global) with M = ∫ ρ Nᵀ N dΩ."""
        uq = self.displacement(v)
        fq = np.einsum("qij,qi->qj", self.Nm, rho * uq * self.quad.w[:, None])
        return self.scatter_add(self.qdofs, fq)

    # ------------------------------------------------------------------ PETSc
    def set_extra_pattern(self, rows: np.ndarray, cols: np.ndarray) -> None:
        """Fixed pattern of this rank's extra entries (penalty, stabilisation, contact)."""
        self._extra = (np.asarray(rows, np.int64), np.asarray(cols, np.int64))
        self._mat = None

    def matrix(self, Ke: np.ndarray, extra_vals: np.ndarray) -> PETSc.Mat:
        """Global PETSc matrix from element matrices and the extra entries' values."""
        nd = self.dofs.shape[1]
        if self._mat is None:
            r = np.repeat(self.dofs, nd, axis=1).ravel()
            c = np.tile(self.dofs, (1, nd)).ravel()
            rows = np.r_[r, self._extra[0]].astype(PETSc.IntType)
            cols = np.r_[c, self._extra[1]].astype(PETSc.IntType)
            A = PETSc.Mat().create(comm=self.comm)
            A.setSizes([[PETSc.DECIDE, self.ndof], [PETSc.DECIDE, self.ndof]])
            A.setType(PETSc.Mat.Type.AIJ)
            A.setPreallocationCOO(rows, cols)
            self._mat = A
        vals = np.r_[Ke.ravel(), extra_vals].astype(PETSc.ScalarType)
        self._mat.setValuesCOO(vals, addv=PETSc.InsertMode.INSERT_VALUES)
        self._mat.assemble()
        return self._mat

    def release(self) -> None:
        """Destroy the PETSc matrix now (collective). Left to Python's garbage collector,
        parallel PETSc objects may be destroyed at different times on different ranks
        (cyclic garbage is collected when a rank's allocations trigger it), which can hang
        the collective clean-up at exit."""
        if self._mat is not None:
            self._mat.destroy()
            self._mat = None

    def solve(self, A: PETSc.Mat, rhs: np.ndarray) -> np.ndarray:
        """Solve A x = rhs with MUMPS (LU); rhs and x are dense global numpy vectors.

        On more than one rank the matrix is gathered onto one rank (PCTELESCOPE, reduction
        factor = comm size) and factorised there by a sequential MUMPS: MUMPS's distributed
        factorisation is not reproducible from run to run (measured: the solve phase with
        fixed factors repeats bit for bit; one OpenMP/OpenBLAS thread, ICNTL(13) = 1 (no
        ScaLAPACK root) and ICNTL(7) = 5 (METIS) do not help; MUMPS schedules its parallel
        factorisation dynamically, so round-off presumably follows the order in which the
        ranks' work arrives): the same
        matrix factorised repeatedly on 2 ranks gave 2 distinct solutions in 60 (1230 dofs)
        and 5 in 5 (63558 dofs), up to 3.6e-11 relative apart, so identical runs on the same
        rank count did not end identically. The gathered factorisation gave one solution in
        every case, at 0.7x (1230 dofs) and 1.4x (63558 dofs) the distributed time on 2 ranks
        (benchmarks/nmm_solve_determinism.py)."""
        b = A.createVecLeft()
        lo, hi = b.getOwnershipRange()
        b.array[:] = rhs[lo:hi]
        x = A.createVecRight()
        ksp = PETSc.KSP().create(comm=self.comm)
        ksp.setOperators(A)
        if self.comm.size == 1:
            ksp.setType("preonly")
            pc = ksp.getPC()
            pc.setType("lu")
            pc.setFactorSolverType("mumps")
        else:
            _gathered_lu(ksp, self.comm.size)
        ksp.solve(b, x)
        reason = ksp.getConvergedReason()
        ksp.destroy()
        if reason < 0:
            raise RuntimeError(f"MUMPS solve failed (KSP reason {reason})")
        sc, xall = PETSc.Scatter.toAll(x)
        sc.scatter(x, xall, addv=PETSc.InsertMode.INSERT_VALUES, mode=PETSc.ScatterMode.FORWARD)
        out = xall.array.copy()
        sc.destroy(), xall.destroy(), b.destroy(), x.destroy()
        return out


#: options prefix of the gathered solve (private: no user option reaches it)
_GATHERED_PREFIX = "nmm_gathered_"


def _gathered_lu(ksp: PETSc.KSP, size: int) -> None:
    """Configure ksp as one sequential MUMPS LU on a single rank: PCTELESCOPE with the
    reduction factor = comm size moves the matrix and right-hand side to it and the
    solution back. petsc4py has no setter for the telescope's inner KSP, hence options
    under a private prefix; they stay in the options database (the inner KSP reads them
    at PCSetUp, inside KSPSolve)."""
    opts = PETSc.Options()
    settings = {"ksp_type": "preonly", "pc_type": "telescope", "pc_telescope_reduction_factor": size,
                "telescope_ksp_type": "preonly", "telescope_pc_type": "lu",
                "telescope_pc_factor_mat_solver_type": "mumps"}
    for key, value in settings.items():
        opts[_GATHERED_PREFIX + key] = value
    ksp.setOptionsPrefix(_GATHERED_PREFIX)
    ksp.setFromOptions()


def _segment_add(Ke: np.ndarray, idx: np.ndarray, kq: np.ndarray) -> None:
    """Ke[idx[q]] += kq[q] for grouped (sorted) idx, with np.add.reduceat."""
    starts = np.flatnonzero(np.r_[True, np.diff(idx) != 0])
    Ke[idx[starts]] += np.add.reduceat(kq, starts, axis=0)
