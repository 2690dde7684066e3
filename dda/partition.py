"""Spatial partition of the blocks over the MPI ranks, ghost layers and ghost exchange.

Each rank **owns** the blocks of one part of a recursive coordinate bisection (RCB) of the
block centroids and keeps, besides them, the **ghost** blocks of other ranks that lie within
reach of its own: a block j is a ghost on the rank owning i when their bounding boxes,
padded by ``reach`` = d0 + 2·margin [m], overlap and i is the pair's deciding block (below:
the rank that will own their contacts). A fixed base under every block is thus a ghost on
every rank, and its owner needs none of the blocks on it. Contacts only form between blocks whose
boxes are within d0 of each other, so the ghost layer holds every contact partner of the
owned blocks as long as no vertex has moved more than ``margin`` [m] since the partition was
made (boxes then grow by ≤ margin on each side); the time loop checks this after every step
and repartitions when it fails (:meth:`Partition.moved_too_far`).

RCB (deterministic): the set of blocks is cut across its longer extent (of the centroids'
bounding box) at the position that puts ⌊P/2⌋/P of the blocks on the low side (ties in the
coordinate broken by block number), and each side is cut again for its share of the ranks.

Contact ownership (each contact detected and assembled exactly once): a contact between
blocks a and b belongs to the owner of its **deciding block**: the lower-numbered of the
two when both are free, else the free one (pairs of two fixed blocks have no contact).

Local numbering: a rank works on its local blocks ``loc`` (owned and ghosts, ascending global
number) and their vertices ``vloc`` (ascending, so local vertex order = global order). Its
PETSc rows are the owned blocks renumbered owner by owner (``row``): rank r owns the
contiguous block rows of its part.

Ghost exchange (:meth:`Partition.forward`): per-block values of the owned blocks are sent to
the ranks holding them as ghosts (one ``Alltoallv``).
"""

from __future__ import annotations

import time as _time
from typing import Any

import numpy as np

from dda.contact_detect import broad_phase_grid

#: default of ``dda.Settings.distribute_min_free_blocks``: under MPI the blocks are distributed
#: over the ranks (this module) only for systems of at least this many free blocks; below, rank 0
#: computes every step as one rank does and the other ranks receive its results (a short message
#: per step, the whole state when it is read; dda.simulation.Simulation.step): the numbers of one
#: rank on every rank, output written by rank 0. Measured on 2 cores (benchmarks/dda_ranks.py,
#: benchmarks/out/dda_ranks_session11.json, median of 3 alternating runs, load 2.5–3.9; its
#: ``threshold`` entry): the distributed step against the undistributed one on 2 ranks was
#: 0.28× / 0.68× / 0.91× / 0.70× at 100 / 900 / 2,500 / 4,900 free blocks (the linear solve, with
#: "auto"'s direct solver below 5,000 free blocks, runs on rank 0 alone, and the open–close
#: iteration adds ~10 collectives per solve); at 5,041 free blocks, with the distributed "schur"
#: solve that "auto" takes from 5,000 on, 2 ranks beat 1 (wall 1.22×, rank-0 CPU 1.81×). The
#: first size at which distributing paid is where the distributed solve starts: 5,000.
DISTRIBUTE_MIN_FREE_BLOCKS = 5000

#: shortest and longest pause [s] of :func:`wait_for_ranks` between two polls of its barrier,
#: and the pause as a share of the time waited so far
WAIT_SHORTEST_PAUSE_S, WAIT_LONGEST_PAUSE_S, WAIT_PAUSE_SHARE = 2e-5, 1e-3, 0.1


def wait_for_ranks(comm) -> None:
    """Return once every rank of ``comm`` has called this, without holding a core meanwhile.

    A blocking MPI call (gather, scatter, allreduce) busy-polls: a rank that arrives early
    spins at 100 % CPU until the last one arrives, e.g. every other rank while rank 0
    factorises the system (dda.simulation.Simulation._solve); on a machine with as many cores
    as ranks (and other load) the spinning ranks take cycles from the working one. Here a
    non-blocking barrier (``MPI_Ibarrier``) is tested with sleeps between the tests: after
    waiting w seconds the pause is p = clip(:data:`WAIT_PAUSE_SHARE`·w,
    :data:`WAIT_SHORTEST_PAUSE_S`, :data:`WAIT_LONGEST_PAUSE_S`), so a rank leaves at most
    about max(0.1·w, the shortest sleep the OS gives, ~60 µs on Linux) after the last rank
    arrived, and never more than ~1 ms late. Moves no data and changes no number: the
    collective called right after it finds every rank (nearly) there."""
    _poll_until(comm.Ibarrier().Test)


def _poll_until(done, longest_pause: float = WAIT_LONGEST_PAUSE_S) -> None:
    """Call ``done()`` until it is true, sleeping between the calls: after waiting w seconds
    the pause is clip(:data:`WAIT_PAUSE_SHARE`·w, :data:`WAIT_SHORTEST_PAUSE_S`, ``longest_pause``)."""
    start = _time.perf_counter()
    while not done():
        waited = _time.perf_counter() - start
        _time.sleep(min(max(WAIT_PAUSE_SHARE * waited, WAIT_SHORTEST_PAUSE_S), longest_pause))


def wait_for_message(comm, source: int, tag: int, longest_pause: float = WAIT_LONGEST_PAUSE_S,
                     first_pause: float = 0.0) -> Any:
    """Receive the next message of ``source`` with ``tag`` (a pickled object) without holding a
    core while it is on its way: one pause of ``first_pause`` [s] (a message known not to come
    sooner), then ``MPI_Iprobe`` polled with the pauses of :func:`wait_for_ranks` (at most
    ``longest_pause`` [s]; a blocking receive busy-polls), then the receive."""
    if first_pause > 0 and not comm.Iprobe(source=source, tag=tag):
        _time.sleep(first_pause)
    _poll_until(lambda: comm.Iprobe(source=source, tag=tag), longest_pause)
    return comm.recv(source=source, tag=tag)


def rcb(points: np.ndarray, parts: int) -> np.ndarray:
    """Recursive coordinate bisection of ``points`` (n, 2) into ``parts`` parts; the part of
    each point (n,) in 0…parts−1, part sizes within one of n·share."""
    owner = np.zeros(points.shape[0], dtype=np.int64)

    def cut(idx: np.ndarray, first: int, count: int) -> None:
        if count <= 1 or idx.size == 0:
            owner[idx] = first
            return
        low = count // 2
        p = points[idx]
        ext = p.max(axis=0) - p.min(axis=0)
        axis = int(np.argmax(ext))
        order = np.lexsort((idx, p[:, axis]))  # coordinate, then block number: deterministic
        k = int(round(idx.size * low / count))
        cut(idx[order[:k]], first, low)
        cut(idx[order[k:]], first + low, count - low)

    cut(np.arange(points.shape[0]), 0, parts)
    return owner


def deciding_block(a: np.ndarray, b: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """The block whose owner owns the contacts of the pair (a, b) (global numbers): the lower
    one when both are free, else the free one."""
    return np.where(fixed[a], b, np.where(fixed[b], a, np.minimum(a, b)))


class Partition:
    """The blocks of this rank (owned and ghosts) and the ghost exchange plan.

    owner (nb,) rank of every block; loc (nloc,) local blocks (global numbers, ascending);
    owned (nloc,) bool; own_idx (n_own,) local indices of the owned blocks; row (nloc,) the
    PETSc block row of each local block; vloc (nvloc,) global numbers of the local vertices;
    voff (nloc+1,) local vertex offsets; ref_xy (nvloc, 2) the local vertices when the
    partition was made [m]; margin [m]: the largest vertex movement it stays valid for.
    ``trivial``: one rank, or ``replicated`` (every rank computes the whole system itself):
    everything local, identity numbering, no exchange.
    ``parts`` (nb,), ``n_parts``: when given (the "schur" linear solve), the free blocks' owners
    come from these fixed parts (rank ⌊p·R/K⌋ owns part p) instead of an RCB over the ranks.
    """

    def __init__(self, comm: Any, centroid: np.ndarray, bbox: np.ndarray, voff: np.ndarray, fixed: np.ndarray,
                 xy: np.ndarray, d0: float, margin: float, parts: np.ndarray | None = None, n_parts: int = 0,
                 replicated: bool = False) -> None:
        self.comm = comm
        self.rank, self.size = comm.rank, comm.size
        nb = centroid.shape[0]
        self.nb, self.nv = nb, int(voff[-1])
        self.margin = float(margin)
        self.trivial = self.size == 1 or bool(replicated)
        if self.trivial:
            self.owner = np.zeros(nb, dtype=np.int64)
            self.loc = np.arange(nb)
            self.owned = np.ones(nb, dtype=bool)
            self.own_idx = self.loc
            self.row = self.loc
            self.vloc = np.arange(self.nv)
            self.voff = np.asarray(voff, dtype=np.int64)
            self.ref_xy = xy.copy()
            self.n_ghost = 0
            return
        # the fixed blocks weigh nothing in the balance: they have no unknowns to speak of
        free = np.flatnonzero(~fixed)
        owner = np.zeros(nb, dtype=np.int64)
        if parts is None:
            owner[free] = rcb(centroid[free], self.size)
        else:  # fixed parts (dda.schur): rank ⌊p·R/K⌋ owns part p
            owner[free] = (np.asarray(parts)[free] * self.size) // int(n_parts)
        fx = np.flatnonzero(fixed)
        owner[fx] = fx % self.size
        self.owner = owner
        reach = d0 + 2.0 * self.margin
        pairs = broad_phase_grid(bbox, reach)
        pairs = pairs[~(fixed[pairs[:, 0]] & fixed[pairs[:, 1]])]
        cross = pairs[owner[pairs[:, 0]] != owner[pairs[:, 1]]]
        # ghost g on rank q: the other block of a cross pair whose deciding block q owns
        dec = deciding_block(cross[:, 0], cross[:, 1], fixed)
        gq = owner[dec]
        gb = np.where(dec == cross[:, 0], cross[:, 1], cross[:, 0])
        key = np.unique(gq * nb + gb)
        ghost_rank, ghost_block = key // nb, key % nb  # sorted by rank, then block
        mine = ghost_block[ghost_rank == self.rank]
        own_blocks = np.flatnonzero(owner == self.rank)
        self.loc = np.union1d(own_blocks, mine)
        self.owned = owner[self.loc] == self.rank
        self.own_idx = np.flatnonzero(self.owned)
        self.n_ghost = int(mine.size)
        # PETSc rows: blocks renumbered rank by rank (stable in block number)
        order = np.lexsort((np.arange(nb), owner))
        row_of = np.empty(nb, dtype=np.int64)
        row_of[order] = np.arange(nb)
        self.row = row_of[self.loc]
        self.row_start = int(np.sum(owner < self.rank))
        counts = np.diff(voff)[self.loc]
        self.voff = np.r_[0, np.cumsum(counts)].astype(np.int64)
        self.vloc = np.repeat(voff[self.loc], counts) + (np.arange(int(counts.sum())) - np.repeat(self.voff[:-1], counts))
        self.ref_xy = xy[self.vloc].copy()
        # exchange plan: send[q] my owned blocks that are ghosts on q; recv[q] my ghosts owned by q
        self.send, self.recv = [], []
        for q in range(self.size):
            on_q = ghost_block[ghost_rank == q]
            s = on_q[owner[on_q] == self.rank] if q != self.rank else np.zeros(0, dtype=np.int64)
            r = mine[owner[mine] == q] if q != self.rank else np.zeros(0, dtype=np.int64)
            self.send.append(np.searchsorted(self.loc, s))
            self.recv.append(np.searchsorted(self.loc, r))
        self.send_counts = np.array([s.size for s in self.send], dtype=np.int64)
        self.recv_counts = np.array([r.size for r in self.recv], dtype=np.int64)
        self.send_all = np.concatenate(self.send)
        self.recv_all = np.concatenate(self.recv)

    # ------------------------------------------------------------------ numbering
    @property
    def n_local(self) -> int:
        """Number of local blocks (owned and ghosts)."""
        return int(self.loc.size)

    def local_keys(self, keys: np.ndarray) -> np.ndarray:
        """Global contact keys (vertex·nv + edge) of contacts between local blocks, in the local
        vertex numbering (others dropped); ascending when ``keys`` is."""
        if self.trivial:
            return keys
        v, e = keys // self.nv, keys % self.nv
        pv = np.clip(np.searchsorted(self.vloc, v), 0, self.vloc.size - 1)
        pe = np.clip(np.searchsorted(self.vloc, e), 0, self.vloc.size - 1)
        ok = (self.vloc[pv] == v) & (self.vloc[pe] == e)
        return pv[ok] * self.vloc.size + pe[ok]

    # ------------------------------------------------------------------ exchange
    def _exchange(self, send_idx_all, send_counts, recv_counts, values: np.ndarray) -> np.ndarray:
        from mpi4py import MPI

        width = int(np.prod(values.shape[1:], dtype=np.int64))
        sbuf = np.ascontiguousarray(values[send_idx_all].reshape(-1), dtype=float)
        rbuf = np.empty(int(recv_counts.sum()) * width)
        sc, rc = send_counts * width, recv_counts * width
        sd, rd = np.r_[0, np.cumsum(sc)[:-1]], np.r_[0, np.cumsum(rc)[:-1]]
        wait_for_ranks(self.comm)  # arrive together (no rank spins), then exchange
        self.comm.Alltoallv([sbuf, (sc, sd), MPI.DOUBLE], [rbuf, (rc, rd), MPI.DOUBLE])
        return rbuf.reshape((-1,) + values.shape[1:])

    def forward(self, values: np.ndarray) -> None:
        """Overwrite the ghost rows of ``values`` (nloc, …) with their owners' rows (in place)."""
        if self.trivial:
            return
        values[self.recv_all] = self._exchange(self.send_all, self.send_counts, self.recv_counts, values)

    # ------------------------------------------------------------------ validity
    def moved_too_far(self, xy_local: np.ndarray) -> bool:
        """True (on every rank) when a vertex of an owned block has moved more than ``margin``
        since the partition was made: the ghost layers may then miss a contact partner."""
        if self.trivial:
            return False
        vown = np.repeat(self.owned, np.diff(self.voff))
        d = xy_local[vown] - self.ref_xy[vown]
        local = float(np.max(np.einsum("ij,ij->i", d, d))) if d.size else 0.0
        from mpi4py import MPI

        return bool(self.comm.allreduce(local, op=MPI.MAX) > self.margin ** 2)
