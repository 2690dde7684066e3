"""Global DDA system K D = F on PETSc (block size 6), solved by MUMPS (default) or CG
(BiCGStab when K is not symmetric).

The DDA simulation solves on one process (``comm`` = COMM_SELF; under MPI rank 0 holds the
gathered system, dda.simulation), so that its round-off does not depend on the number of
ranks. The class also takes a communicator of several ranks: :meth:`GlobalSystem.set_layout`
then gives the PETSc block row of every local block (rank r owns a contiguous range of rows),
each rank contributes the block submatrices of the blocks it owns and its contacts in COO form
(``setPreallocationCOO`` / ``setValuesCOO`` on an MPIAIJ matrix, duplicates summed, off-rank
entries communicated by PETSc), and :meth:`GlobalSystem.solve` returns the owned rows (a
distributed LU: faster, but its round-off depends on the partition). Fixed blocks are
eliminated exactly (D_b = 0): their rows and columns are dropped and replaced by the identity.

``kind="scipy"`` is a serial SciPy/SuperLU fallback (tests, debugging).

Small systems on one rank (at most ``DENSE_MAX_UNKNOWNS`` unknowns) are solved by the direct
kind as a dense LU (LAPACK, numpy) instead of through PETSc: the same direct method, without
PETSc's fixed cost per call (≈ 1 ms, against ≈ 10 µs for 12 unknowns).

Mid-size systems on one rank (up to ``BLOCK_LU_MAX_UNKNOWNS``) are factorised by PETSc's own
LU on a block-CSR matrix (6 × 6 blocks, nested-dissection ordering) instead of MUMPS: the
same direct method, with 6 × 6 dense kernels and no multifrontal set-up per factorisation
(measured on the 10 × 10 stack, 606 unknowns: 1.1 ms factorise + 0.08 ms solve against
MUMPS's 2.4 + 0.6 ms; MUMPS is faster from ~2,000 unknowns on, see ``BLOCK_LU_MAX_UNKNOWNS``).
The block values are summed from the COO entries in numpy (``np.bincount``, one fixed map
per pattern) and handed over as block CSR.
"""

from __future__ import annotations

import time as _time
from typing import Any

import numpy as np

from dda.errors import InputError

SOLVERS = ("auto", "mumps", "cg", "scipy", "schur")

#: ``linear_solver = "auto"`` (the default) takes "schur" for systems of at least this many
#: free blocks and "mumps" below: a size rule, not a rank-count rule, so 1 and 2 ranks solve
#: the same way. Measured on the stacked grids (benchmarks/dda_mpi.py, median of 3
#: alternating runs on a loaded 2-core machine), schur on 2 ranks against mumps on 1 rank:
#: 901 blocks 0.73× (slower), 4,901 blocks 1.40× wall (1.62× CPU per rank), 10,001 blocks
#: 1.62× wall; the price on 1 rank: schur costs +15 % CPU at 4,901 blocks and +5 % wall at
#: 10,001 (MUMPS with a Schur complement does more flops than a plain LU).
SCHUR_AUTO_MIN_FREE_BLOCKS = 5000


def resolve_linear_solver(kind: str, n_free: int) -> str:
    """The solver ``kind`` names for a system of ``n_free`` free blocks ("auto": "schur" from
    :data:`SCHUR_AUTO_MIN_FREE_BLOCKS` free blocks on, "mumps" below; any other kind as is)."""
    if kind != "auto":
        return kind
    return "schur" if n_free >= SCHUR_AUTO_MIN_FREE_BLOCKS else "mumps"

#: the kinds GlobalSystem solves itself ("schur" is dda.schur.SchurSolve)
GLOBAL_KINDS = ("mumps", "cg", "scipy")

#: the direct kind on one rank solves systems up to this many unknowns (6 per block) densely
DENSE_MAX_UNKNOWNS = 120

#: the direct kind on one rank uses PETSc's block LU up to this many unknowns (MUMPS above)
BLOCK_LU_MAX_UNKNOWNS = 1800


try:  # y[r] += Σ_k A[r, k] x[k], each row summed in its entry order from y[r] (SciPy's CSR kernel)
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # a SciPy without it: np.add.at (the same floats, ~1.7× slower)
    _csr_matvec = None


def _dofs(b: np.ndarray) -> np.ndarray:
    return 6 * b[:, None] + np.arange(6)[None, :]


def _gather(src: np.ndarray, idx: np.ndarray, out: np.ndarray, cache: dict) -> None:
    """out[:] = src[idx] for sorted ``idx`` made of long contiguous runs (the kept entries of the
    contact terms: every entry of a contact between two free blocks, a 6 × 6 corner of one
    touching a fixed block): a copy per run, about 3× faster than np.take on the 30 × 30
    stack's 750,000 entries in 361 runs; np.take when the runs are short. The runs are kept
    in ``cache`` (the pattern's dict)."""
    runs = cache.get("kc_runs")
    if runs is None:
        brk = np.flatnonzero(np.diff(idx) != 1) + 1
        starts, ends = np.r_[0, brk], np.r_[brk, idx.size]
        runs = list(zip(idx[starts].tolist(), starts.tolist(), ends.tolist())) if idx.size and starts.size * 64 <= idx.size else []
        cache["kc_runs"] = runs
    if not runs:
        np.take(src, idx, out=out)
        return
    for s, d0, d1 in runs:
        out[d0:d1] = src[s : s + d1 - d0]


class GlobalSystem:
    """Assemble and solve the global system for nb blocks on communicator ``comm``."""

    def __init__(self, nb: int, fixed: np.ndarray, comm: Any = None, kind: str = "mumps", rtol: float = 1e-12) -> None:
        if kind not in GLOBAL_KINDS:
            raise InputError("settings.linear_solver", repr(kind), " | ".join(GLOBAL_KINDS))
        self.nb = nb
        self.fixed = np.asarray(fixed, dtype=bool)
        self.kind = kind
        if comm is None:
            from mpi4py import MPI

            comm = MPI.COMM_WORLD
        self.comm = comm
        if kind == "scipy" and comm.size > 1:
            raise InputError("settings.linear_solver", "'scipy' with several MPI ranks", "'mumps' or 'cg' under MPI")
        # layout (set_layout): one rank, identity numbering, every block owned
        self.set_layout(np.arange(nb), np.arange(nb), self.fixed)
        self.n_solves = 0
        #: wall time [s]: PETSc assembly, factorise (KSP set-up: LU factorisation or the
        #: preconditioner), solve (substitution or Krylov iterations), gather (kept at 0: no
        #: gather; the ghost exchange is timed by the simulation)
        self.timings = {"assemble": 0.0, "factorise": 0.0, "solve": 0.0, "gather": 0.0}
        self.dense = kind == "mumps" and comm.size == 1 and 6 * nb <= DENSE_MAX_UNKNOWNS
        self.block_lu = kind == "mumps" and comm.size == 1 and not self.dense and 6 * nb <= BLOCK_LU_MAX_UNKNOWNS
        self.ksp_iterations = 0
        if kind != "scipy" and not self.dense:
            import dolfinx_solver  # noqa: F401  (sets up the wheel's PETSc libraries)
            from petsc4py import PETSc

            self.PETSc = PETSc
            self.ksp = PETSc.KSP().create(comm)
            self.ksp.setOptionsPrefix("dda_")
            opts = PETSc.Options()
            for key in ("dda_pc_factor_mat_ordering_type", "dda_ksp_rtol", "dda_ksp_atol", "dda_ksp_max_it"):
                opts.delValue(key)  # the options database is global: no setting of another kind carries over
            if self.block_lu:
                opts["dda_ksp_type"] = "preonly"
                opts["dda_pc_type"] = "lu"
                opts["dda_pc_factor_mat_solver_type"] = "petsc"
                opts["dda_pc_factor_mat_ordering_type"] = "nd"
            elif kind == "mumps":
                opts["dda_ksp_type"] = "preonly"
                opts["dda_pc_type"] = "lu"
                opts["dda_pc_factor_mat_solver_type"] = "mumps"
            else:
                opts["dda_ksp_type"] = "cg"
                opts["dda_pc_type"] = "bjacobi"
                opts["dda_ksp_rtol"] = rtol
                opts["dda_ksp_atol"] = 0.0
                opts["dda_ksp_max_it"] = 20000
            self.ksp.setFromOptions()

    # ------------------------------------------------------------------ ownership
    def set_layout(self, own_idx: np.ndarray, row: np.ndarray, fixed_local: np.ndarray) -> None:
        """The local blocks of this rank: ``own_idx`` (n_own,) local indices of the owned blocks,
        ``row`` (nloc,) the global PETSc block row of every local block (owned rows contiguous
        and ascending in ``own_idx`` order), ``fixed_local`` (nloc,) bool. Drops the pattern."""
        self.own_idx = np.asarray(own_idx, dtype=np.int64)
        self.row = np.asarray(row, dtype=np.int64)
        self.fixed_local = np.asarray(fixed_local, dtype=bool)
        self.n_own = int(self.own_idx.size)
        self._pairs, self._key = None, None
        if getattr(self, "_A", None) is not None:
            self._destroy_objects()

    # ------------------------------------------------------------------ assembly
    def _pattern(self, ci: np.ndarray, cj: np.ndarray) -> dict:
        """COO indices of this rank's share (fixed within a step: same contacts); ci, cj local."""
        fixed, row = self.fixed_local, self.row
        own = self.own_idx[~fixed[self.own_idx]]
        bd = _dofs(row[own])
        rows = [np.repeat(bd, 6, axis=1).ravel()]
        cols = [np.tile(bd, (1, 6)).ravel()]
        fidx = [bd.ravel()]
        m = np.ones(ci.size, dtype=bool)  # every local contact is this rank's (dda.partition)
        cd = np.hstack([_dofs(row[ci]), _dofs(row[cj])])  # (n, 12)
        free = ~np.hstack([np.repeat(fixed[ci][:, None], 6, 1), np.repeat(fixed[cj][:, None], 6, 1)])
        keep = free[:, :, None] & free[:, None, :]
        rows.append(np.repeat(cd, 12, axis=1).reshape(-1, 12, 12)[keep])
        cols.append(np.repeat(cd[:, None, :], 12, axis=1)[keep])
        fidx.append(cd[free])
        fx = self.own_idx[fixed[self.own_idx]]
        d = _dofs(row[fx]).ravel()
        rows.append(d)
        cols.append(d)
        # flat gather indices into Kb, Kc, Fb, Fc (fixed per pattern: no boolean masking per solve)
        mi = np.flatnonzero(m)
        kc_idx = (mi[:, None] * 144 + np.arange(144)[None, :])[keep.reshape(keep.shape[0], 144)]
        fc_idx = (mi[:, None] * 12 + np.arange(12)[None, :])[free]
        kb_idx = (own[:, None] * 36 + np.arange(36)[None, :]).ravel()
        fb_idx = (own[:, None] * 6 + np.arange(6)[None, :]).ravel()
        return {
            "own": own, "m": m, "keep": keep, "free": free, "n_fixed": d.size,
            "rows": np.concatenate(rows), "cols": np.concatenate(cols), "fidx": np.concatenate(fidx),
            "kb_idx": kb_idx, "kc_idx": kc_idx, "fb_idx": fb_idx, "fc_idx": fc_idx,
        }

    def solve(
        self, Kb: np.ndarray, Fb: np.ndarray, Kc: np.ndarray, Fc: np.ndarray, ci: np.ndarray, cj: np.ndarray,
        pattern_key: object = None, symmetric: bool = True, kc_changed: np.ndarray | None = None,
    ) -> np.ndarray:
        """Solve for D of the owned blocks (n_own, 6), in ``own_idx`` order. Kb (nloc,6,6), Fb
        (nloc,6): block terms of the local blocks (only the owned ones are used); Kc (nc,12,12),
        Fc (nc,12): terms of this rank's contacts on local blocks (ci, cj).
        Calls with the same ``pattern_key`` (e.g. the open–close iterations of one step, whose
        contact list is fixed), or with the same contact pairs (ci, cj) as the last pattern,
        reuse the COO pattern, the matrix and its symbolic factorisation.
        ``symmetric=False`` (sliding friction linear in the normal force makes K non-symmetric):
        the iterative kind switches from CG to BiCGStab (LU does not care).
        ``kc_changed`` (ascending contact indices): the only rows of ``Kc`` changed since the last
        call, when ``Kc`` and ``Kb`` are the very arrays of that call (``Kc`` rewritten in place
        there and nowhere else, ``Kb`` untouched: dda.contact_law.ContactStiffness.changed in an
        open–close iteration); the block-LU kind then re-sums only the blocks those contacts
        touch (the other sums are those of the last call, bit for bit), the other kinds gather
        only those contacts' COO values. None: every row may have changed."""
        tm = self.timings
        t0 = _time.perf_counter()
        reuse = pattern_key is not None and pattern_key == getattr(self, "_key", None)
        if not reuse and getattr(self, "_pairs", None) is not None:
            # a new step with the same contact pairs (a resting or slowly moving system): the
            # pattern, the matrix and its symbolic factorisation carry over
            pi, pj = self._pairs
            reuse = pi.shape == ci.shape and np.array_equal(pi, ci) and np.array_equal(pj, cj)
            if self.comm.size > 1:  # the matrix is rebuilt on every rank or on none (collective)
                from mpi4py import MPI

                reuse = bool(self.comm.allreduce(reuse, op=MPI.LAND))
            self._key = pattern_key
        if not reuse:
            self._pat = self._pattern(ci, cj)
            self._key = pattern_key
            self._pairs = (ci.copy(), cj.copy())
        P = self._pat
        own, m = P["own"], P["m"]
        if self.block_lu:
            return self._solve_block_lu(P, Kb, Fb, Kc, Fc, reuse, t0, kc_changed)
        # the COO values gathered straight into one buffer per pattern (no temporaries)
        if "vals" not in P:
            nkb, nkc = P["kb_idx"].size, P["kc_idx"].size
            P["vals"] = np.ones(nkb + nkc + P["n_fixed"])
            P["kb_out"], P["kc_out"] = P["vals"][:nkb], P["vals"][nkb : nkb + nkc]
        vals = P["vals"]
        last = P.get("last")
        if kc_changed is not None and last is not None and last[0] is Kb and last[1] is Kc:
            # the arrays of the last call, Kc changed in the rows kc_changed only: their entries
            if kc_changed.size:
                if "kc_start" not in P:  # where each contact's kept entries start in kc_out (ascending)
                    P["kc_start"] = np.searchsorted(P["kc_idx"], 144 * np.arange(Kc.shape[0] + 1))
                start = P["kc_start"]
                lo, length = start[kc_changed], start[kc_changed + 1] - start[kc_changed]
                at = np.repeat(lo - (np.cumsum(length) - length), length) + np.arange(int(length.sum()))
                P["kc_out"][at] = Kc.reshape(-1)[P["kc_idx"][at]]
        else:
            np.take(Kb.reshape(-1), P["kb_idx"], out=P["kb_out"])
            _gather(Kc.reshape(-1), P["kc_idx"], P["kc_out"], P)
        P["last"] = (Kb, Kc)  # (kept alive: the identity test above cannot meet a new array at an old address)
        fval = np.concatenate([Fb.reshape(-1)[P["fb_idx"]], Fc.reshape(-1)[P["fc_idx"]]])
        rows, cols, fidx = P["rows"], P["cols"], P["fidx"]
        n = 6 * self.nb
        self.n_solves += 1
        if self.dense:
            if "flat" not in P:  # the dense position of each COO entry, once per pattern
                P["flat"] = rows * n + cols
            A = np.bincount(P["flat"], weights=vals, minlength=n * n).reshape(n, n)
            b = np.bincount(fidx, weights=fval, minlength=n)
            t1 = _time.perf_counter()
            tm["assemble"] += t1 - t0
            try:
                D = np.linalg.solve(A, b).reshape(self.nb, 6)
            except np.linalg.LinAlgError:
                D = np.full((self.nb, 6), np.nan)
            tm["solve"] += _time.perf_counter() - t1
            return D
        if self.kind == "scipy":
            import scipy.sparse as sp
            import scipy.sparse.linalg as spla

            A = sp.coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsc()
            b = np.bincount(fidx, weights=fval, minlength=n)
            return spla.spsolve(A, b).reshape(self.nb, 6)
        PETSc = self.PETSc
        if not reuse:
            self._destroy_objects()
            nloc = 6 * self.n_own
            A = PETSc.Mat().create(comm=self.comm)
            A.setSizes(((nloc, n), (nloc, n)), bsize=6)
            A.setType(PETSc.Mat.Type.AIJ)
            A.setPreallocationCOO(rows.astype(PETSc.IntType), cols.astype(PETSc.IntType))
            self._A = A
            # vectors and the load indices live as long as the pattern
            self._b, self._x = A.createVecLeft(), A.createVecRight()
            self._fidx = fidx.astype(PETSc.IntType)
        A, b, x = self._A, self._b, self._x
        A.setValuesCOO(np.asarray(vals, dtype=PETSc.ScalarType))
        A.assemble()
        b.set(0.0)
        b.setValues(self._fidx, fval, addv=PETSc.InsertMode.ADD_VALUES)
        b.assemble()
        t1 = _time.perf_counter()
        tm["assemble"] += t1 - t0
        if self.kind == "cg":
            self.ksp.setType("cg" if symmetric else "bcgs")
        self.ksp.setOperators(A)
        self.ksp.setUp()  # the LU factorisation (or the preconditioner)
        t15 = _time.perf_counter()
        tm["factorise"] += t15 - t1
        self.ksp.solve(b, x)
        t2 = _time.perf_counter()
        tm["solve"] += t2 - t15
        self.ksp_iterations += self.ksp.getIterationNumber()
        reason = self.ksp.getConvergedReason()
        D = x.getArray().copy().reshape(self.n_own, 6)  # the owned rows, ascending = own_idx order
        if reason < 0:
            D[:] = np.nan
        tm["gather"] += _time.perf_counter() - t2
        return D

    def _solve_block_lu(self, P: dict, Kb: np.ndarray, Fb: np.ndarray, Kc: np.ndarray, Fc: np.ndarray, reuse: bool,
                        t0: float, kc_changed: np.ndarray | None = None) -> np.ndarray:
        """One rank, mid-size: sum the COO entries of the pattern ``P`` into 6 × 6 blocks (block
        CSR, row-major blocks), factorise with PETSc's block LU (nested dissection) and solve.

        The block values are the sums of the COO values in COO order (a block's K_b entry, then
        its contact terms in contact order), written without gathering the COO values: the
        K_b entries (+ 0.0, as a sum from zero gives them) and the identity rows of fixed blocks
        are placed, then every entry of Kc (nc, 12, 12) is added in its flat order, those of
        fixed blocks left out: the floats of ``np.bincount`` over the gathered values, without the
        gather. The adding is SciPy's CSR product kernel (``csr_matvec``: y[v] += Σ 1.0 · Kc[e]
        over the entries e of the value v, summed in their flat order from y[v]; 1.0 · x is x,
        with or without a fused multiply-add), or ``np.add.at`` (sequential, into a discarded
        slot for the fixed blocks' entries) without it: the same floats, the kernel ~1.7×
        faster (10 × 10 stack, 76,000 entries into 785 blocks: 62 against 104 µs per solve)."""
        PETSc, tm, n = self.PETSc, self.timings, 6 * self.nb
        rows, cols, fidx = P["rows"], P["cols"], P["fidx"]
        self.n_solves += 1
        if not reuse:
            self._destroy_objects()
            brow, bcol = rows // 6, cols // 6
            blocks, where = np.unique(brow * self.nb + bcol, return_inverse=True)
            bpos = where * 36 + (rows % 6) * 6 + cols % 6  # flat position of each COO entry
            self._nblk = blocks.size
            nkb, nkc = P["kb_idx"].size, P["kc_idx"].size
            self._bpos_kb, self._bpos_fixed = bpos[:nkb], bpos[nkb + nkc:]
            if _csr_matvec is None:
                self._bpos_kc = np.full(Kc.size, 36 * self._nblk, dtype=np.int64)  # the discarded slot
                self._bpos_kc[P["kc_idx"]] = bpos[nkb:nkb + nkc]
            else:  # the kept Kc entries by block value, each value's in flat order (stable sort)
                dest = bpos[nkb:nkb + nkc]
                order = np.argsort(dest, kind="stable")
                self._kc_csr = (np.searchsorted(dest[order], np.arange(36 * self._nblk + 1)).astype(np.int64),
                                P["kc_idx"][order].astype(np.int64), np.ones(nkc))
                # the blocks each contact adds to (its four 6 × 6 quadrants; −1: a fixed block's, dropped)
                kc = P["kc_idx"]
                quadrant = ((kc % 144) // 72) * 2 + (kc % 12) // 6
                self._contact_blocks = np.full((Kc.shape[0], 4), -1, dtype=np.int64)
                self._contact_blocks[kc // 144, quadrant] = dest // 36
            self._data = None  # no sums kept for a new pattern
            self._bptr = np.searchsorted(blocks // self.nb, np.arange(self.nb + 1)).astype(PETSc.IntType)
            self._bcol = (blocks % self.nb).astype(PETSc.IntType)
            A = PETSc.Mat().createBAIJ((n, n), 6, csr=(self._bptr, self._bcol), comm=self.comm)
            A.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, True)
            self._A = A
            self._b, self._x = A.createVecLeft(), A.createVecRight()
        A, b, x = self._A, self._b, self._x
        if (kc_changed is not None and _csr_matvec is not None and getattr(self, "_data", None) is not None
                and Kb is self._last_kb and Kc is self._last_kc):
            # only the blocks of the changed contacts: their values from the start (K_b or 0), all
            # their terms re-added in order (the same sums); every other value is the last call's
            data, ptr, idx, ones = self._data, *self._kc_csr
            hit = self._contact_blocks[kc_changed].ravel()
            mark = np.zeros(self._nblk + 1, dtype=bool)  # (the last slot: the −1 of dropped quadrants)
            mark[hit] = True
            ub = np.flatnonzero(mark[:-1])
            if ub.size:
                r = (ub[:, None] * 36 + np.arange(36)).ravel()
                length = ptr[r + 1] - ptr[r]
                sub_ptr = np.zeros(r.size + 1, dtype=np.int64)
                np.cumsum(length, out=sub_ptr[1:])
                sub_idx = idx[np.repeat(ptr[r] - sub_ptr[:-1], length) + np.arange(sub_ptr[-1])]
                y = self._base[r]
                _csr_matvec(r.size, Kc.size, sub_ptr, sub_idx, ones, Kc.reshape(-1), y)
                data[r] = y
        else:
            data = np.zeros(36 * self._nblk + 1)
            data[self._bpos_kb] = Kb.reshape(-1)[P["kb_idx"]] + 0.0
            data[self._bpos_fixed] = 1.0
            if _csr_matvec is None:
                np.add.at(data, self._bpos_kc, Kc.reshape(-1))
            else:  # data[v] += 1.0 × Kc[e] for the entries e of every value v in turn, in their order
                ptr, idx, ones = self._kc_csr
                self._base = data.copy()  # the values before the contact terms (for kc_changed)
                _csr_matvec(36 * self._nblk, Kc.size, ptr, idx, ones, Kc.reshape(-1), data)
                # kept (with the arrays they were summed from) for the next call's kc_changed
                self._data, self._last_kb, self._last_kc = data, Kb, Kc
        A.setValuesBlockedCSR(self._bptr, self._bcol, data[:-1])
        A.assemble()
        fval = np.concatenate([Fb.reshape(-1)[P["fb_idx"]], Fc.reshape(-1)[P["fc_idx"]]])
        b.setArray(np.bincount(fidx, weights=fval, minlength=n))
        t1 = _time.perf_counter()
        tm["assemble"] += t1 - t0
        self.ksp.setOperators(A)
        try:
            self.ksp.setUp()  # the LU factorisation
            t15 = _time.perf_counter()
            self.ksp.solve(b, x)
            D = x.getArray().copy().reshape(self.nb, 6)
            failed = self.ksp.getConvergedReason() < 0
        except PETSc.Error:  # a zero pivot: a singular system, as the dense path reports it
            t15, D, failed = _time.perf_counter(), np.zeros((self.nb, 6)), True
        tm["factorise"] += t15 - t1
        if failed:
            D[:] = np.nan
        tm["solve"] += _time.perf_counter() - t15
        return D

    def _destroy_objects(self) -> None:
        for name in ("_A", "_b", "_x"):
            obj = getattr(self, name, None)
            if obj is not None:
                obj.destroy()
            setattr(self, name, None)

    def destroy(self) -> None:
        if self.kind != "scipy" and not self.dense:
            self._destroy_objects()
            self.ksp.destroy()
