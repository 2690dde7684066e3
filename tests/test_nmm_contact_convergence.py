"""The NMM open–close Newton iteration on a fine cover of the jointed tunnel (session 14).

Before the line search and the friction tangent (nmm/solve.py ``_System._contact_line_search``,
nmm/contact.py ``JointContact.linearise``) the cover below (tools/tunnel_cover.py with
h_wall = a/90, slope 0.3, h_max 4: 10630 triangles) diverged: |R|/|R0| = 5e48 after 60
iterations (stick–slide chatter at the slip fronts until whole joints opened and the roof
block became a mechanism); so did every cover finer than every size / 2.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_fine_tunnel_cover_converges(tmp_path):
    from mpi4py import MPI  # noqa: F401  (before dolfinx)

    import coupling

    spec = importlib.util.spec_from_file_location("tunnel_cover", ROOT / "tools" / "tunnel_cover.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cover = tmp_path / "cover.msh"
    tool.write_cover(cover, h_wall=0.0333, slope=0.3, h_max=4.0)
    case = coupling.load_case(ROOT / "cases" / "nmm_jointed_tunnel.toml",
                              {"cover.path": str(cover), "output.fields": False, "output.plots": False})
    r = coupling.run(case, tmp_path / "run", force=True)  # raised RunDiverged before
    assert r.results["relative_residual"] < 1e-7
    slips = [j["max_slip"] for j in r.results["joints"]]
    assert slips == pytest.approx([4.87e-4, 5.35e-4], rel=0.01)  # the shipped cover's, 0.05 % (case header)
