"""The size rule of DDA under MPI (dda.Settings.distribute_min_free_blocks) and the replicated run.

On more than one rank the blocks are distributed (dda.partition) only from
``distribute_min_free_blocks`` free blocks on, or for an explicit ``linear_solver = "schur"``;
below, rank 0 computes every step as one rank does and sends the accepted state to the other
ranks (one message per step). Checked in one process with stand-in communicators of 2 ranks
that support nothing but that message (rank 0: ``isend``, recorded; rank 1: ``Iprobe`` and
``recv``, replayed): a replicated run that made any other MPI call (a collective, a gather)
would fail with AttributeError. The 2-rank runs under mpiexec are in tests/test_dda_mpi.py."""

from __future__ import annotations

import numpy as np
import pytest


class TwoRanksNoCalls:
    """A communicator of 2 ranks (this one ``rank``) that supports no MPI call."""

    def __init__(self, rank: int) -> None:
        self.rank, self.size = rank, 2


class _Sent:
    def wait(self):
        return None


class RankZero(TwoRanksNoCalls):
    """Rank 0 of 2: records what it sends (pickled, as MPI sends it); nothing else."""

    def __init__(self) -> None:
        super().__init__(0)
        self.sent: list = []

    def isend(self, obj, dest: int, tag: int):
        import pickle

        assert dest == 1
        self.sent.append((tag, pickle.dumps(obj)))
        return _Sent()


class RankOne(TwoRanksNoCalls):
    """Rank 1 of 2: receives the messages rank 0 recorded, in order; nothing else."""

    def __init__(self, sent: list) -> None:
        super().__init__(1)
        self.inbox = list(sent)

    def Iprobe(self, source: int, tag: int) -> bool:  # noqa: N802 (the MPI name)
        return bool(self.inbox) and source == 0 and self.inbox[0][0] == tag

    def recv(self, source: int, tag: int):
        import pickle

        got_tag, data = self.inbox.pop(0)
        assert source == 0 and got_tag == tag
        return pickle.loads(data)


def _stack(comm=None, **settings):
    """A 3 × 3 stack of 1 m blocks (9 free blocks) settling on a fixed base."""
    from dda_stack_case import stack_3x3

    return stack_3x3(0.008, comm, **settings)


@pytest.mark.parametrize("threshold, solver, distributed", [
    (10, "auto", False),   # 9 free blocks < 10: replicated
    (9, "auto", True),     # 9 >= 9: distributed
    (0, "mumps", True),    # 0: always distributed
    (10, "schur", True),   # an explicit schur solve is the distributed solve: always distributed
    (10, "cg", False),
])
def test_rule_distributes_from_the_threshold_on(threshold, solver, distributed):
    sim = _stack(TwoRanksNoCalls(0), distribute_min_free_blocks=threshold, linear_solver=solver)
    assert sim.distributed is distributed and sim.stats["mpi_distributed"] is distributed
    from mpi4py import MPI

    one = _stack(MPI.COMM_SELF, distribute_min_free_blocks=0, linear_solver=solver)
    assert one.distributed is False  # one rank never distributes


HISTORIES = ("time", "dt", "centroid", "velocity", "rotation", "kinetic_energy", "n_open", "n_sliding", "n_locked",
             "oc_iterations")


def _assert_same_run(res, ref) -> None:
    for name in HISTORIES:
        np.testing.assert_array_equal(np.asarray(getattr(res, name)), np.asarray(getattr(ref, name)), err_msg=name)
    for name in ("xy", "velocity", "stress", "strain"):
        np.testing.assert_array_equal(getattr(res.state, name), getattr(ref.state, name), err_msg=name)
    np.testing.assert_array_equal(res.state.contacts.key, ref.state.contacts.key)
    np.testing.assert_array_equal(res.state.contacts.normal_force, ref.state.contacts.normal_force)
    assert res.stats.steps == ref.stats.steps and res.stats.solves == ref.stats.solves


@pytest.mark.parametrize("solver", ["auto", "mumps"])
def test_replicated_run_is_the_one_rank_run_on_both_ranks(solver):
    """Below the threshold rank 0 runs the one-rank step and sends a short message per accepted
    step and the whole state when the result is made (no other MPI call: the stand-ins have
    none); rank 1, fed those messages, records the same histories, final state, contacts and
    statistics, bit for bit, and computes nothing (no solve)."""
    import pickle

    from mpi4py import MPI

    ref = _stack(MPI.COMM_SELF, linear_solver=solver).solve()
    zero = _stack(RankZero(), linear_solver=solver)  # default threshold (5,000) > 9 free blocks
    assert not zero.distributed
    res0 = zero.solve()
    assert zero.part.trivial and zero.part.own_idx.size == zero.nb
    assert ref.stats.steps >= 8 and np.abs(np.asarray(ref.centroid)[-1] - np.asarray(ref.centroid)[0]).max() > 0
    _assert_same_run(res0, ref)
    # a short message per accepted step, and the whole state once: when the result is made
    kinds = [pickle.loads(m)[0] for _, m in zero.comm.sent]
    assert kinds == ["step"] * ref.stats.steps + ["state"]
    one = _stack(RankOne(zero.comm.sent), linear_solver=solver)
    infos = []
    res1 = one.solve(callback=infos.append)
    _assert_same_run(res1, ref)
    assert one.solver.n_solves == 0 and not one.comm.inbox  # rank 1 solved nothing and took every message
    assert [i.step for i in infos] == list(range(1, ref.stats.steps + 1)) and all(i.rank == 1 for i in infos)


def test_replicated_state_read_during_the_run_is_rank_zeros():
    """A callback that reads the whole state after every step (the collective global_state and
    global_last_contacts, as the output and the Vajont band monitor do) sees on rank 1 exactly
    the state rank 0 has, step by step (from the second step on it comes with the step's message);
    with ``history_every = 3`` the histories still match."""
    import pickle

    seen: dict = {0: [], 1: []}

    def watch(sim, rank):
        def callback(info):
            st, con = sim.global_state(), sim.global_last_contacts()
            seen[rank].append((info.step, st.xy.copy(), st.velocity.copy(), con.key.copy()))
        return callback

    zero = _stack(RankZero(), history_every=3)
    res0 = zero.solve(callback=watch(zero, 0))
    sent = [pickle.loads(m) for _, m in zero.comm.sent]
    # after the first read the whole state goes with every step's message (one message a step);
    # the final result needs no further state
    assert [m[0] for m in sent] == ["step", "state"] + ["step"] * (res0.stats.steps - 1)
    assert sent[0][2].get("state") is None and all(m[2]["state"] is not None for m in sent[2:])
    one = _stack(RankOne(zero.comm.sent), history_every=3)
    res1 = one.solve(callback=watch(one, 1))
    assert len(seen[1]) == len(seen[0]) == res0.stats.steps
    for a, b in zip(seen[0], seen[1]):
        assert a[0] == b[0]
        for x, y in zip(a[1:], b[1:]):
            np.testing.assert_array_equal(x, y)
    _assert_same_run(res1, res0)
    assert len(res1.time) < res1.stats.steps  # every third step recorded


def test_rank_zero_failure_stops_the_other_ranks():
    """A divergence on rank 0 is raised on rank 1 too, with the partial result up to the last
    good step; any other failure on rank 0 stops rank 1 with an error instead of leaving it waiting."""
    import pickle

    import dda
    from dda.simulation import Simulation

    zero = _stack(RankZero())
    for _ in range(3):
        zero.step()
    state = {name: getattr(zero, name, None) for name in Simulation.REPLICATED}
    tag = Simulation.REPLICATE_TAG
    # what rank 0 sends when step 4 diverges: the last state (its result is made), then the news
    diverged = zero.comm.sent + [(tag, pickle.dumps(("state", None, state))),
                                 (tag, pickle.dumps(("diverged", (4, 0.004, 3, "penetration"), zero._step_message())))]
    one = _stack(RankOne(diverged))
    with pytest.raises(dda.SolverDivergence) as err:
        one.solve()
    assert err.value.step == 4 and err.value.block == 3 and "penetration" in str(err.value)
    assert err.value.result is not None and len(err.value.result.time) == 4  # the initial row and 3 steps
    np.testing.assert_array_equal(err.value.last_state.xy, zero.state.xy)  # the last good state, whole
    np.testing.assert_array_equal(err.value.result.centroid[-1], zero.result.centroid[-1])
    failed = zero.comm.sent[:1] + [(tag, pickle.dumps(("failed", "MemoryError: ", None)))]
    with pytest.raises(RuntimeError, match="rank 0 stopped the replicated DDA run: MemoryError"):
        _stack(RankOne(failed)).solve()


@pytest.mark.parametrize("value", [-1, True, 2.5, None])
def test_bad_threshold_names_the_key(value):
    import dda

    with pytest.raises(dda.InputError) as err:
        dda.Settings(distribute_min_free_blocks=value).validate()
    assert "settings.distribute_min_free_blocks" in str(err.value)


def test_case_key_default_is_the_settings_default():
    """``dda.distribute_min_free_blocks`` of a case file defaults to dda.Settings' default (the
    case schema does not import dda; the number is written in both places)."""
    import dda
    from coupling.case.dda import DdaSettingsSpec
    from dda.partition import DISTRIBUTE_MIN_FREE_BLOCKS

    assert DdaSettingsSpec.model_fields["distribute_min_free_blocks"].default == DISTRIBUTE_MIN_FREE_BLOCKS
    assert dda.Settings().distribute_min_free_blocks == DISTRIBUTE_MIN_FREE_BLOCKS


_BAND_SCRIPT = """
import json, sys
from mpi4py import MPI
import coupling
over = {"dda.duration": 11.0, "output.fields": False, "output.plots": False, **json.loads(sys.argv[1])}
case = coupling.load_case("vajont", over)
r = coupling.run(case).results
keys = ("band_temperature_rise_slide_max", "band_pore_pressure_ratio_slide_max", "band_temperature_rise_slide",
        "band_pore_pressure_slide", "peak_velocity", "runout")
rows = MPI.COMM_WORLD.gather({k: r[k] for k in keys}, root=0)
if MPI.COMM_WORLD.rank == 0:  # one printer: the ranks' output is not interleaved
    for rank, row in enumerate(rows):
        print("RESULT", rank, json.dumps(row), flush=True)
"""


@pytest.mark.mpi
@pytest.mark.parametrize("over", [{}, {"dda.distribute_min_free_blocks": 0, "dda.duration": 12.0}],
                         ids=["replicated", "distributed"])
def test_replicated_vajont_band_monitor_reports_the_one_rank_figures_on_every_rank(over):
    """The thermal-pressurisation band monitor (coupling.runners.dda.BandMonitor) of a replicated
    run records on rank 0 alone (no whole state sent per step) and shares its record at the end:
    both ranks report the one-rank band figures, bit for bit (1 s of the event after settling).
    Distributed (each block on its rank; 2 s of the event, past the crest's corners trading the
    contact at 11.0 s): the bands the contacts carry (dda.openclose.transfer) and the vertex bands
    (State.vertex_band, gathered every step) give the one-rank figures too."""
    import json
    import os
    import subprocess
    import sys

    from conftest import ROOT, mpiexec

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def results(nproc: int) -> dict[int, dict]:
        cmd = [sys.executable, "-c", _BAND_SCRIPT, json.dumps(over)]
        if nproc > 1:
            cmd = [mpiexec(), "-n", str(nproc), *cmd]
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600, env=env)
        assert p.returncode == 0, p.stdout + p.stderr
        rows = [line.split(" ", 2) for line in p.stdout.splitlines() if line.startswith("RESULT ")]
        return {int(rank): json.loads(text) for _, rank, text in rows}

    one, two = results(1), results(2)
    assert set(two) == {0, 1}
    assert one[0]["band_temperature_rise_slide_max"] > 0  # the band heated: the monitor recorded something
    assert two[0] == one[0] and two[1] == one[0]


class RankZeroStopRequest(RankZero):
    """Rank 0 of 2 that finds a stop request of rank 1 waiting from its ``arrives``-th probe on."""

    def __init__(self, arrives: int) -> None:
        super().__init__()
        self.probes, self.arrives, self.taken = 0, arrives, 0

    def iprobe(self, source: int, tag: int) -> bool:
        from dda import Simulation

        assert tag == Simulation.STOP_TAG
        self.probes += 1
        return self.probes >= self.arrives and not self.taken

    def recv(self, source: int, tag: int):
        self.taken += 1
        return True


class RankOneRequests(RankOne):
    """Rank 1 of 2 that also records what it sends (its stop request to rank 0)."""

    def __init__(self, sent: list) -> None:
        super().__init__(sent)
        self.requests: list = []

    def isend(self, obj, dest: int, tag: int):
        self.requests.append((dest, tag, obj))
        return _Sent()


@pytest.mark.parametrize("who", ["rank 0", "rank 1"])
def test_replicated_stop_is_decided_by_rank_zero_without_a_collective(who):
    """A stop request (SIGINT/SIGTERM in coupling's DDA runner) on a replicated run: rank 0
    decides when it sends a step and the decision comes with the step's message, so every rank
    stops after the same step with no collective (the stand-ins have none). A request on rank 0
    (its stop_signal from step 4 on) stops both ranks after step 4; one that arrives from rank 1
    (found at rank 0's 6th probe, one per step) stops both after step 6; rank 1 sends its request
    once, whatever its signal says afterwards."""
    import pickle

    from dda import Simulation

    stop_at = 4 if who == "rank 0" else 6
    zero = _stack(RankZeroStopRequest(arrives=10**9 if who == "rank 0" else stop_at))
    assert zero.replicated_run
    zero.stop_signal = (lambda: zero.state.step >= stop_at) if who == "rank 0" else (lambda: False)
    steps0 = []
    zero.solve(callback=lambda info: steps0.append(info.step) or zero.replicated_stop())
    assert steps0 == list(range(1, stop_at + 1))
    stops = [pickle.loads(m)[2].get("stop") for _, m in zero.comm.sent if pickle.loads(m)[0] == "step"]
    assert stops == [False] * (stop_at - 1) + [True]
    one = _stack(RankOneRequests(zero.comm.sent))
    one.stop_signal = (lambda: False) if who == "rank 0" else (lambda: one.state.step >= 2)
    steps1 = []
    one.solve(callback=lambda info: steps1.append(info.step) or one.replicated_stop())
    assert steps1 == steps0 and not one.comm.inbox
    assert one.comm.requests == ([] if who == "rank 0" else [(0, Simulation.STOP_TAG, True)])
