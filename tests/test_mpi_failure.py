"""A runner that raises on one rank only must not hang the others (issue 10), in a replicated
run (rank 0 computes, the default for a small case) and in a distributed one: the failing rank waits FAILURE_AGREEMENT_S for the others, then removes the staged folder, prints its
error and aborts every rank. When every rank raises, the run fails as on one rank (a
collective discard, the error on one line, exit 2)."""

import subprocess
import sys
import textwrap
import time

import pytest

from conftest import CASES, ROOT, mpiexec

SCRIPT = textwrap.dedent('''
    import sys
    from mpi4py import MPI

    import coupling.runner_context as rc
    import dda
    from coupling.cli import main
    from coupling.errors import CaseError

    failing = [int(r) for r in sys.argv[1].split(",")]
    calls = [0]

    def hook(original):
        """The test hook on the runner's per-step stop check: a bad value found by some ranks
        at step 5 (a distributed run checks with RunContext.stop_requested, a replicated one,
        the default for this 2-block case on 2 ranks, with dda.Simulation.replicated_stop)."""
        def check(self):
            calls[0] += 1
            if MPI.COMM_WORLD.rank in failing and calls[0] == 5:
                raise CaseError("case.toml", "probe", "found a value only this rank sees", "anything else")
            return original(self)
        return check

    rc.RunContext.stop_requested = hook(rc.RunContext.stop_requested)
    dda.Simulation.replicated_stop = hook(dda.Simulation.replicated_stop)
    sys.exit(main(["run", sys.argv[2], "-o", sys.argv[3], "-q", "--set", "dda.duration=0.5",
                   "--set", f"dda.distribute_min_free_blocks={sys.argv[4]}"]))
''')


@pytest.mark.parametrize("distribute_min_free_blocks", ["5000", "0"], ids=["replicated", "distributed"])
@pytest.mark.parametrize("failing", ["1", "0", "0,1"])
def test_failure_on_some_ranks_ends_every_rank(tmp_path, failing, distribute_min_free_blocks):
    script = tmp_path / "fail.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out"
    t0 = time.monotonic()
    r = subprocess.run([mpiexec(), "-n", "2", sys.executable, str(script), failing, str(CASES / "dda_incline.toml"),
                        str(out), distribute_min_free_blocks], cwd=ROOT, capture_output=True, text=True, timeout=300)
    took = time.monotonic() - t0
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "probe: found a value only this rank sees" in r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fail.py"]  # no out, no out.partial-*
    if failing == "0,1":  # every rank failed: no abort, one line from rank 0
        errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "on rank" not in errors[0], r.stderr
        assert took < 120
    else:  # the failing rank alone: its error, then MPI_Abort ends both ranks
        assert f"(on rank {failing} only)" in r.stderr
