"""Deterministic distributed solve of the DDA system K D = F by substructuring (``linear_solver = "schur"``).

The free blocks are split once, from their start-of-run centroids, into ``n_parts`` = K parts
by recursive coordinate bisection (dda.partition.rcb); the parts do **not** depend on the
number of MPI ranks R (R ≤ K; rank r holds the parts p with ⌊p·R/K⌋ = r, a contiguous RCB
group, so the rank partition of dda.partition is the union of its parts).

Interface. A contact (i, j) between free blocks of different parts p(i) < p(j) puts the block
of the *lower* part into the interface Γ (one-sided: every cross-part contact has an end in
Γ, Γ is about half the blocks along the cuts). The other free blocks are the interiors I_p;
interiors of different parts never touch. Ordering the unknowns [I_1 … I_K, Γ]:

    K = [[A_II (block diagonal over p),  A_IΓ],
         [A_ΓI,                           A_ΓΓ]],

    S = A_ΓΓ − Σ_p A_ΓI_p A_I_pI_p⁻¹ A_I_pΓ        (6|Γ| × 6|Γ|, dense)
    S x_Γ = F_Γ − Σ_p A_ΓI_p A_I_pI_p⁻¹ F_I_p,     x_I_p = A_I_pI_p⁻¹ (F_I_p − A_I_pΓ x_Γ).

Per part p (on its rank): the local matrix over I_p and Γ_p (the Γ blocks touching I_p)

    M_p = [[A_II,  A_IΓ],
           [A_ΓI,  T_p + diag(σ_p)]],   T_p = the Γ–Γ 6 × 6 blocks of the part's contacts,

is assembled from the part's interior block terms (block order) and the contacts with an end in
I_p (key order), factorised by MUMPS with its Schur-complement option on the Γ_p unknowns
(``MatFactorSetSchurIS``), which gives S_p = T_p + diag(σ_p) − A_ΓI A_II⁻¹ A_IΓ (dense) at the
cost of a factorisation. σ_p,k = |(T_p)_kk| (floored at 1e-8 max_k |(T_p)_kk|) keeps S_p
non-singular where a Γ block is held by one contact only; it is subtracted again below. Two
substitutions with the factor (whose PETSc solve goes through S_p) give the condensed load and
the interior solution:

    y = M_p⁻¹ [F_I; c_p]  →  g_p = S_p y_Γ = c_p − A_ΓI A_II⁻¹ F_I       (c_p: the Γ loads of the part's contacts)
    z = M_p⁻¹ [F_I; S_p x_Γ − g_p + c_p]  →  z_Γ = x_Γ,  z_I = A_II⁻¹ (F_I − A_IΓ x_Γ) = x_I.

Rank 0 assembles S = A_ΓΓ^0 + Σ_p (S_p − diag σ_p) and its load F_Γ^0 + Σ_p g_p (A_ΓΓ^0, F_Γ^0:
the block terms of the Γ blocks and the contacts with no interior end, those in key order; the
parts added in part order), solves it densely (LAPACK) and broadcasts x_Γ (6|Γ| numbers).

Why the numbers do not depend on R: every float is computed from the same inputs in the same
order whatever rank holds a part (each part's matrix from its own blocks and contacts sorted by
key; the sums over parts in part order); one rank processes its parts one after the other.
No rank holds the whole system: a rank holds its parts' sparse matrices, rank 0 also the dense
interface system (6|Γ| ≈ 6·(cut length in blocks)).

Units: those of K [N/m, N, N·m …] and F; D in the block unknowns (u, v [m], r [rad], εx, εy, γxy).
"""

from __future__ import annotations

import ctypes
import glob
import os
import time as _time
from typing import Any

import numpy as np

#: default number of parts (the largest rank count the schur solve supports by default)
DEFAULT_PARTS = 2

#: σ floor relative to the largest |(T_p)_kk| of a part
SHIFT_FLOOR = 1e-8


def _dofs(b: np.ndarray) -> np.ndarray:
    return 6 * np.asarray(b, dtype=np.int64)[:, None] + np.arange(6)[None, :]


_LIB = None


def _petsc_lib():
    """The PETSc shared library petsc4py runs on (for ``MatFactorSetSchurIS``, which petsc4py does not wrap)."""
    global _LIB
    if _LIB is None:
        import dolfinx_solver  # noqa: F401
        from petsc4py import PETSc  # noqa: F401

        paths = sorted(glob.glob(os.path.join(os.path.dirname(dolfinx_solver.__file__), "lib", "libpetsc.so*")))
        if not paths:
            with open("/proc/self/maps") as f:
                paths = sorted({line.split()[-1] for line in f if "libpetsc.so" in line})
        _LIB = ctypes.CDLL(paths[0])
        _LIB.MatFactorSetSchurIS.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        _LIB.MatFactorCreateSchurComplement.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
                                                        ctypes.POINTER(ctypes.c_int)]
        _LIB.MatDenseGetArrayRead.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.POINTER(ctypes.c_double))]
        _LIB.MatDenseRestoreArrayRead.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.POINTER(ctypes.c_double))]
        _LIB.MatDestroy.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    return _LIB


def assign_parts(centroid: np.ndarray, fixed: np.ndarray, n_parts: int) -> np.ndarray:
    """Part of every block (nb,): RCB of the free blocks' centroids (nb, 2) [m] into ``n_parts``
    parts; −1 for fixed blocks (no unknowns)."""
    from dda.partition import rcb

    part = np.full(centroid.shape[0], -1, dtype=np.int64)
    free = np.flatnonzero(~np.asarray(fixed, dtype=bool))
    part[free] = rcb(centroid[free], n_parts)
    return part


def part_ranks(n_parts: int, size: int) -> np.ndarray:
    """Rank of every part (n_parts,): ⌊p·R/K⌋ (contiguous groups of parts)."""
    return (np.arange(n_parts) * size) // n_parts


class _Part:
    """One part's local system M_p for one contact pattern (see the module docstring), as a
    6 × 6 block CSR matrix (PETSc BAIJ) factorised by MUMPS with a Schur complement on Γ_p.

    interior (n_i,), gamma (m,): global blocks of I_p and Γ_p (ascending); gi, gj (nc,): the
    part's contacts (global blocks, in key order); rows (nc,): their rows in the contact array
    the values will come from; fixed (nb,) bool."""

    def __init__(self, interior: np.ndarray, gamma: np.ndarray, gi: np.ndarray, gj: np.ndarray, rows: np.ndarray,
                 fixed: np.ndarray) -> None:
        from petsc4py import PETSc
        from mpi4py import MPI

        self.interior, self.gamma = interior, gamma
        n_i, m = interior.size, gamma.size
        self.n_i, self.m = n_i, m
        nloc = n_i + m
        self.n = 6 * nloc
        self.failed = False
        blocks = np.concatenate([interior, gamma])  # local block k: global block blocks[k]
        order = np.argsort(blocks)
        sorted_blocks = blocks[order]

        def local(b: np.ndarray) -> np.ndarray:
            return order[np.clip(np.searchsorted(sorted_blocks, b), 0, nloc - 1)]

        fi, fj = fixed[gi], fixed[gj]
        li, lj = local(gi), local(gj)
        nc = gi.size
        # block pairs: the diagonal of every local block, then the contacts' (a, b) sub-blocks
        # (a, b ∈ {vertex side, edge side}; a fixed side has no unknowns)
        lab = np.stack([li, lj], axis=1)  # (nc, 2)
        code = lab[:, :, None] * nloc + lab[:, None, :]  # (nc, 2, 2)
        ok2 = ~np.stack([fi, fj], axis=1)
        ok = ok2[:, :, None] & ok2[:, None, :]  # (nc, 2, 2)
        diag = np.arange(nloc) * (nloc + 1)
        codes, where = np.unique(np.concatenate([diag, code[ok]]), return_inverse=True)
        self.nblk = codes.size
        self.bptr = np.searchsorted(codes // nloc, np.arange(nloc + 1)).astype(PETSc.IntType)
        self.bcol = (codes % nloc).astype(PETSc.IntType)
        diag_pos = where[:nloc]
        pair_pos = np.full((nc, 2, 2), -1, dtype=np.int64)
        pair_pos[ok] = where[nloc:]
        # every kept entry (c, 6a + r, 6b + s) of a contact's 12 × 12 term → flat block-CSR position
        rs = np.arange(6)
        ent = (pair_pos[:, :, None, :, None] * 36 + rs[None, None, :, None, None] * 6 + rs[None, None, None, None, :])
        ent = np.broadcast_to(ent, (nc, 2, 6, 2, 6)).reshape(nc, 144)
        keep = np.broadcast_to(ok[:, :, None, :, None], (nc, 2, 6, 2, 6)).reshape(nc, 144)
        self.kc_take = (np.asarray(rows, dtype=np.int64)[:, None] * 144 + np.arange(144)[None, :])[keep]
        kc_pos = ent[keep]
        kb_pos = (diag_pos[:n_i, None] * 36 + np.arange(36)[None, :]).ravel()
        self.pos = np.concatenate([kb_pos, kc_pos])
        # the Γ diagonal entries (T_p's diagonal, shifted by σ)
        self.gdiag_pos = (diag_pos[n_i:, None] * 36 + rs[None, :] * 7).ravel()
        # loads: interior block loads, then the contacts' free sides
        dof = np.hstack([6 * li[:, None] + rs, 6 * lj[:, None] + rs])  # (nc, 12)
        free12 = np.repeat(ok2, 6, axis=1)
        self.fc_take = (np.asarray(rows, dtype=np.int64)[:, None] * 12 + np.arange(12)[None, :])[free12]
        self.fidx = np.concatenate([np.arange(6 * n_i), dof[free12]])
        A = PETSc.Mat().createBAIJ((self.n, self.n), 6, csr=(self.bptr, self.bcol), comm=MPI.COMM_SELF)
        A.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, True)
        self.A = A
        self.b, self.x = A.createVecLeft(), A.createVecRight()
        ksp = PETSc.KSP().create(MPI.COMM_SELF)
        ksp.setType("preonly")
        pc = ksp.getPC()
        pc.setType("lu")
        pc.setFactorSolverType("mumps")
        ksp.setOperators(A)
        self.ksp = ksp
        self.is_gamma = None
        #: wall time [s]: values (assembly of M_p), numeric (MUMPS factorisation), schur (copying S_p out)
        self.split = {"values": 0.0, "numeric": 0.0, "schur": 0.0}
        if m:
            pc.setFactorSetUpSolverType()
            gd = 6 * n_i + np.arange(6 * m)
            self.is_gamma = PETSc.IS().createGeneral(gd.astype(PETSc.IntType), comm=MPI.COMM_SELF)
            err = _petsc_lib().MatFactorSetSchurIS(ctypes.c_void_p(pc.getFactorMatrix().handle),
                                                   ctypes.c_void_p(self.is_gamma.handle))
            if err:
                raise RuntimeError(f"MatFactorSetSchurIS failed ({err})")

    def factorise(self, Kb_i: np.ndarray, Kc_flat: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        from petsc4py import PETSc

        """Assemble M_p from the interior block terms Kb_i (n_i, 6, 6) and the contact terms
        (``Kc_flat``: the flattened contact array ``rows`` refers to) and factorise it:
        (S_p (6m, 6m) or None, σ_p (6m,))."""
        t0 = _time.perf_counter()
        vals = np.concatenate([Kb_i.reshape(-1), np.take(Kc_flat, self.kc_take)])
        data = np.bincount(self.pos, weights=vals, minlength=36 * self.nblk)
        sigma = np.abs(data[self.gdiag_pos])
        if sigma.size:
            sigma = np.maximum(sigma, SHIFT_FLOOR * max(float(sigma.max()), 1.0))
            data[self.gdiag_pos] += sigma
        self.A.setValuesBlockedCSR(self.bptr, self.bcol, data)
        self.A.assemble()
        self.ksp.setOperators(self.A)
        t1 = _time.perf_counter()
        k = 6 * self.m
        self.failed = False
        try:
            self.ksp.setUp()
            self.failed = self.ksp.getPC().getFailedReason() != 0
        except PETSc.Error:  # a singular part (a zero pivot): NaN, as the other solvers report it
            self.failed = True
        # (MUMPS with a Schur complement may not see a zero pivot that the whole-system LU sees:
        # a singular part can then give a huge finite D, which the step's displacement-ratio
        # check rejects)
        t2 = _time.perf_counter()
        self.split["values"] += t1 - t0
        self.split["numeric"] += t2 - t1
        if self.failed:
            return (np.full((k, k), np.nan) if self.m else None), sigma
        if not self.m:
            return None, sigma
        lib = _petsc_lib()
        S, status = ctypes.c_void_p(), ctypes.c_int()
        F = self.ksp.getPC().getFactorMatrix()
        if lib.MatFactorCreateSchurComplement(ctypes.c_void_p(F.handle), ctypes.byref(S), ctypes.byref(status)):
            self.failed = True
            return np.full((k, k), np.nan), sigma
        arr = ctypes.POINTER(ctypes.c_double)()
        lib.MatDenseGetArrayRead(S, ctypes.byref(arr))
        Sp = np.ctypeslib.as_array(arr, shape=(k * k,)).reshape(k, k).T.copy()  # column-major storage
        lib.MatDenseRestoreArrayRead(S, ctypes.byref(arr))
        lib.MatDestroy(ctypes.byref(S))
        self.split["schur"] += _time.perf_counter() - t2
        return Sp, sigma

    def load(self, Fb_i: np.ndarray, Fc_flat: np.ndarray) -> np.ndarray:
        """The local load [F_I; c_p] (n,)."""
        return np.bincount(self.fidx, weights=np.concatenate([Fb_i.reshape(-1), np.take(Fc_flat, self.fc_take)]),
                           minlength=self.n)

    def substitute(self, rhs: np.ndarray) -> np.ndarray:
        """M_p⁻¹ rhs (n,) (NaN when the factorisation failed)."""
        if self.failed:
            return np.full(self.n, np.nan)
        self.b.setArray(rhs)
        self.ksp.solve(self.b, self.x)
        if self.ksp.getConvergedReason() < 0:
            return np.full(self.n, np.nan)
        return self.x.getArray().copy()

    def destroy(self) -> None:
        for obj in (self.ksp, self.A, self.b, self.x, self.is_gamma):
            if obj is not None:
                obj.destroy()


class SchurSolve:
    """K D = F by substructuring over ``n_parts`` fixed parts (module docstring), on ``comm``.

    part (nb,): the part of every block (−1: fixed; :func:`assign_parts`); fixed (nb,) bool.
    Same counters as dda.assembly.GlobalSystem: ``n_solves``, ``ksp_iterations`` (0: direct),
    ``timings`` [s] (assemble: routing and the values of the parts' and the interface systems;
    factorise: the parts' MUMPS factorisations with their Schur complements, and a new
    pattern's set-up; solve: the substitutions and the dense interface solve; gather: moving
    contact terms, Schur complements and x_Γ between ranks, waits included).
    """

    def __init__(self, part: np.ndarray, n_parts: int, fixed: np.ndarray, comm: Any) -> None:
        self.part = np.asarray(part, dtype=np.int64)
        self.n_parts = int(n_parts)
        self.fixed = np.asarray(fixed, dtype=bool)
        self.nb = self.part.size
        self.comm = comm
        self.rank, self.size = comm.rank, comm.size
        self.part_rank = part_ranks(self.n_parts, self.size)
        self.my_parts = [int(p) for p in np.flatnonzero(self.part_rank == self.rank)]
        self.n_solves, self.ksp_iterations = 0, 0
        self.timings = {"assemble": 0.0, "factorise": 0.0, "solve": 0.0, "gather": 0.0}
        self._key, self._last = None, None
        self._parts: dict = {}
        #: interface size of the last pattern (blocks), patterns built
        self.n_interface, self.n_patterns = 0, 0

    # ------------------------------------------------------------------ communication helpers
    def _wait(self) -> None:
        from dda.partition import wait_for_ranks

        wait_for_ranks(self.comm)

    def _alltoall(self, send: list) -> list:
        if self.size == 1:
            return send
        self._wait()
        return self.comm.alltoall(send)

    # ------------------------------------------------------------------ pattern
    def _same_contacts(self, key: np.ndarray, gi: np.ndarray, gj: np.ndarray) -> bool:
        """True (on every rank) when every rank's contacts are those of the last pattern."""
        last = self._last
        same = last is not None and last[0].shape == key.shape and all(
            np.array_equal(a, b) for a, b in zip(last, (key, gi, gj)))
        if self.size > 1:
            from mpi4py import MPI

            self._wait()
            same = bool(self.comm.allreduce(same, op=MPI.LAND))
        return same

    def _new_pattern(self, own: np.ndarray, key: np.ndarray, gi: np.ndarray, gj: np.ndarray) -> None:
        """Interface, routing of the contacts (to their part's rank, or rank 0), the parts' matrices."""
        self.n_patterns += 1
        self._last = (key.copy(), gi.copy(), gj.copy())
        flag = np.zeros(self.nb, dtype=np.uint8)
        both = ~self.fixed[gi] & ~self.fixed[gj]
        pi, pj = self.part[gi], self.part[gj]
        cross = both & (pi != pj)
        flag[np.where(pi[cross] < pj[cross], gi[cross], gj[cross])] = 1
        if self.size > 1:
            from mpi4py import MPI

            self._wait()
            self.comm.Allreduce(MPI.IN_PLACE, flag, op=MPI.MAX)
        self.gamma = flag.astype(bool)
        self.gamma_blocks = np.flatnonzero(self.gamma)
        self.n_interface = int(self.gamma_blocks.size)
        inner_i = ~self.fixed[gi] & ~self.gamma[gi]
        inner_j = ~self.fixed[gj] & ~self.gamma[gj]
        dest = np.where(inner_i, self.part[gi], np.where(inner_j, self.part[gj], -1))
        dest_rank = np.where(dest >= 0, self.part_rank[np.maximum(dest, 0)], 0)
        self.out = [np.flatnonzero(dest_rank == q) if q != self.rank else np.zeros(0, dtype=np.int64)
                    for q in range(self.size)]
        got = self._alltoall([(key[o], gi[o], gj[o], dest[o]) for o in self.out])
        # the contacts this rank assembles: its own that stay, then the received ones (rank order)
        nc = key.size
        self.n_recv = sum(g[0].size for g in got if g is not None) if self.size > 1 else 0
        if self.size > 1:
            ckey = np.concatenate([key] + [g[0] for q, g in enumerate(got) if q != self.rank])
            cgi = np.concatenate([gi] + [g[1] for q, g in enumerate(got) if q != self.rank])
            cgj = np.concatenate([gj] + [g[2] for q, g in enumerate(got) if q != self.rank])
            cdest = np.concatenate([np.where(dest_rank == self.rank, dest, -2)]
                                   + [g[3] for q, g in enumerate(got) if q != self.rank])
        else:
            ckey, cgi, cgj, cdest = key, gi, gj, dest
        # the Γ blocks this rank owns (their block terms go to rank 0)
        self.own_gamma = np.flatnonzero(self.gamma[own])
        for p in self._parts.values():
            if p is not None:
                p.destroy()
        self._parts = {}
        own_pos = np.argsort(own)
        own_sorted = own[own_pos]
        self._rows_i = {}
        for p in self.my_parts:
            sel = np.flatnonzero(cdest == p)
            sel = sel[np.argsort(ckey[sel], kind="stable")]
            interior = np.flatnonzero((self.part == p) & ~self.gamma)
            if not interior.size:
                self._parts[p] = None
                continue
            ends = np.concatenate([cgi[sel], cgj[sel]])
            gam = np.unique(ends[self.gamma[ends]])
            self._parts[p] = _Part(interior, gam, cgi[sel], cgj[sel], sel, self.fixed)
            self._rows_i[p] = own_pos[np.searchsorted(own_sorted, interior)]
        if self.rank == 0:
            sel = np.flatnonzero(cdest == -1)
            self.root_sel = sel[np.argsort(ckey[sel], kind="stable")]
            self.root_gi, self.root_gj = cgi[self.root_sel], cgj[self.root_sel]
        _ = nc

    # ------------------------------------------------------------------ solve
    def solve(self, own: np.ndarray, Kb: np.ndarray, Fb: np.ndarray, key: np.ndarray, gi: np.ndarray, gj: np.ndarray,
              Kc: np.ndarray, Fc: np.ndarray, pattern_key: object = None) -> np.ndarray:
        """D (n_own, 6) of this rank's owned blocks ``own`` (global numbers, ascending; every
        block of its parts and the fixed blocks it owns). Kb (n_own, 6, 6), Fb (n_own, 6): their
        block terms; key, gi, gj (nc,): this rank's contacts (global key, global blocks), Kc (nc,
        12, 12), Fc (nc, 12). Calls with the same ``pattern_key`` (the open–close iterations of
        a step), or whose contacts are those of the last pattern on every rank, reuse the
        interface, the routing and the parts' symbolic factorisations."""
        tm = self.timings
        t0 = _time.perf_counter()
        self.n_solves += 1
        if pattern_key is None or pattern_key != self._key:
            if not self._same_contacts(key, gi, gj):
                self._new_pattern(own, key, gi, gj)
            self._key = pattern_key
        t1 = _time.perf_counter()
        tm["factorise"] += t1 - t0
        # contact terms to the ranks of their parts; the Γ blocks' block terms to rank 0
        R = self.size
        og = self.own_gamma
        if R > 1:
            send = [(Kc[o], Fc[o], own[og] if q == 0 else None, Kb[og] if q == 0 else None, Fb[og] if q == 0 else None)
                    for q, o in enumerate(self.out)]
            got = self._alltoall(send)
            others = [g for q, g in enumerate(got) if q != self.rank]
            Kc_all = np.concatenate([Kc] + [g[0] for g in others]) if self.n_recv else Kc
            Fc_all = np.concatenate([Fc] + [g[1] for g in others]) if self.n_recv else Fc
            gblocks = [got[q][2:] for q in range(R)] if self.rank == 0 else None
        else:
            Kc_all, Fc_all = Kc, Fc
            gblocks = [(own[og], Kb[og], Fb[og])]
        Kc_flat, Fc_flat = Kc_all.reshape(-1), Fc_all.reshape(-1)
        t2 = _time.perf_counter()
        tm["gather"] += t2 - t1
        # ---- the parts of this rank: factorise (Schur complement), condensed load
        contrib, keep = [], {}
        for p in self.my_parts:
            part = self._parts[p]
            if part is None:
                continue
            rows_i = self._rows_i[p]
            ta = _time.perf_counter()
            Sp, sigma = part.factorise(Kb[rows_i], Kc_flat)
            tb = _time.perf_counter()
            tm["factorise"] += tb - ta
            rhs = part.load(Fb[rows_i], Fc_flat)
            g = None
            if part.m:
                y = part.substitute(rhs)
                g = Sp @ y[6 * part.n_i:]
                S_out = Sp.copy()
                S_out[np.diag_indices_from(S_out)] -= sigma
                contrib.append((p, part.gamma, S_out, g))
            keep[p] = (part, rhs, Sp, g, rows_i)
            tm["solve"] += _time.perf_counter() - tb
        # ---- the interface system on rank 0
        t3 = _time.perf_counter()
        if R > 1:
            self._wait()
            contrib_all = self.comm.gather(contrib, root=0)
        else:
            contrib_all = [contrib]
        t4 = _time.perf_counter()
        tm["gather"] += t4 - t3
        x_gamma = None
        if self.rank == 0:
            x_gamma = self._interface(gblocks, Kc_all, Fc_all, contrib_all)
        t5 = _time.perf_counter()
        tm["solve"] += t5 - t4
        if R > 1:
            self._wait()
            x_gamma = self.comm.bcast(x_gamma, root=0)
        t6 = _time.perf_counter()
        tm["gather"] += t6 - t5
        # ---- interior back-substitution
        D = np.zeros((own.size, 6))
        xg_all = x_gamma.reshape(-1, 6)
        is_g = self.gamma[own]
        D[is_g] = xg_all[np.searchsorted(self.gamma_blocks, own[is_g])]
        for p, (part, rhs, Sp, g, rows_i) in keep.items():
            if part.m:
                xg = xg_all[np.searchsorted(self.gamma_blocks, part.gamma)].reshape(-1)
                rhs2 = rhs.copy()
                rhs2[6 * part.n_i:] = Sp @ xg - g + rhs[6 * part.n_i:]
                z = part.substitute(rhs2)
            else:
                z = part.substitute(rhs)
            D[rows_i] = z[: 6 * part.n_i].reshape(-1, 6)
        D[self.fixed[own]] = 0.0
        tm["solve"] += _time.perf_counter() - t6
        return D

    def _interface(self, gblocks: list, Kc_all: np.ndarray, Fc_all: np.ndarray, contrib_all: list) -> np.ndarray:
        """Rank 0: assemble S = A_ΓΓ^0 + Σ_p (S_p − diag σ_p) and its load, solve; x_Γ (6|Γ|,)."""
        gam = self.gamma_blocks
        n = 6 * gam.size
        if n == 0:
            return np.zeros(0)
        bl = np.concatenate([g[0] for g in gblocks if g[0] is not None])
        bK = np.concatenate([g[1] for g in gblocks if g[0] is not None])
        bF = np.concatenate([g[2] for g in gblocks if g[0] is not None])
        o = np.argsort(bl)
        bl, bK, bF = bl[o], bK[o], bF[o]
        sel, gi, gj = self.root_sel, self.root_gi, self.root_gj
        Kc, Fc = Kc_all[sel], Fc_all[sel]
        pos = lambda b: np.searchsorted(gam, b)  # noqa: E731
        bd = _dofs(pos(bl))
        li = np.where(self.fixed[gi], 0, pos(gi))
        lj = np.where(self.fixed[gj], 0, pos(gj))
        cd = np.hstack([_dofs(li), _dofs(lj)])
        free = ~np.hstack([np.repeat(self.fixed[gi][:, None], 6, 1), np.repeat(self.fixed[gj][:, None], 6, 1)])
        keep = free[:, :, None] & free[:, None, :]
        rows = np.concatenate([np.repeat(bd, 6, axis=1).ravel(), np.repeat(cd, 12, axis=1).reshape(-1, 12, 12)[keep]])
        cols = np.concatenate([np.tile(bd, (1, 6)).ravel(), np.repeat(cd[:, None, :], 12, axis=1)[keep]])
        vals = np.concatenate([bK.reshape(-1), Kc[keep]])
        S = np.bincount(rows * n + cols, weights=vals, minlength=n * n).reshape(n, n)
        b = np.bincount(np.concatenate([bd.ravel(), cd[free]]), weights=np.concatenate([bF.reshape(-1), Fc[free]]),
                        minlength=n)
        for p, gblk, Sp, g in sorted((c for cs in contrib_all for c in cs), key=lambda c: c[0]):
            d = _dofs(pos(gblk)).ravel()
            S[np.ix_(d, d)] += Sp
            b[d] += g
        try:
            return np.linalg.solve(S, b)
        except np.linalg.LinAlgError:
            return np.full(n, np.nan)

    def destroy(self) -> None:
        for p in self._parts.values():
            if p is not None:
                p.destroy()
        self._parts = {}
