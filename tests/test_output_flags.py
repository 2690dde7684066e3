"""Output flags are honoured and every file written is listed in summary ``files``:
output.plots = false writes no plot, output.fields = false writes no field file but still
the plots; DDA block fields keep the rotation rate out of the velocity vector."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli

SMALL = {
    "dda_incline": ["dda.duration=0.05"],
    "cantilever": ["mesh.cells=[10, 2]"],
    "nmm_cantilever": ["cover.cells=[10, 2]"],
}
FIELD_FILES = {"dda_incline": {"blocks.pvd", "contacts.pvd", "frames", "history.h5"},
               "cantilever": {"fields.pvd", "fields"}, "nmm_cantilever": {"fields.pvd", "fields"}}


def _run(tmp_path, case, *sets):
    out = tmp_path / f"{case}-{len(sets)}-{abs(hash(sets)) % 1000}"
    args = ["run", case, "-o", str(out), "-q"]
    for s in (*SMALL[case], *sets):
        args += ["--set", s]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    listed = json.loads((out / "summary.json").read_text())["files"]
    present = sorted(p.name for p in out.iterdir())
    assert sorted(f.rstrip("/") for f in listed) == present  # every file listed, nothing else
    return out, set(present)


@pytest.mark.parametrize("case", [
    "dda_incline",  # the one whose flags were wrong (plots tied to fields)
    pytest.param("cantilever", marks=pytest.mark.slow),
    pytest.param("nmm_cantilever", marks=pytest.mark.slow),
])
def test_output_flags(tmp_path, case):
    _, both = _run(tmp_path, case)
    _, no_plots = _run(tmp_path, case, "output.plots=false")
    _, no_fields = _run(tmp_path, case, "output.fields=false")
    pngs = {f for f in both if f.endswith(".png")}
    assert pngs and FIELD_FILES[case] <= both
    assert not {f for f in no_plots if f.endswith(".png")} and FIELD_FILES[case] <= no_plots
    assert {f for f in no_fields if f.endswith(".png")} == pngs and not FIELD_FILES[case] & no_fields


def test_dda_velocity_field_has_no_rotation_rate(tmp_path):
    import meshio

    out, _ = _run(tmp_path, "dda_incline")
    for f in (out / "frames").iterdir():  # every frame opens (frames without contacts have no contacts file)
        meshio.read(f)
    m = meshio.read(sorted((out / "frames").glob("blocks_*.vtu"))[-1])
    summary = json.loads((out / "summary.json").read_text())
    block = int(np.flatnonzero(np.concatenate(m.cell_data["block_id"]) == summary["results"]["monitored_blocks"][0])[0])
    # the last frame is the final state: its displacement is the reported run-out (same numbers)
    assert np.concatenate(m.cell_data["displacement"])[block, 0] == pytest.approx(summary["results"]["runout"], rel=1e-9)
    v = np.concatenate(m.cell_data["velocity"])
    omega = np.concatenate(m.cell_data["rotation_rate"])
    assert v.shape[1] == 3 and np.all(v[:, 2] == 0.0)
    assert np.abs(v[:, :2]).max() > 0  # the block slides
    assert omega.ndim == 1


def test_one_definition_of_group_speed():
    """monitor.png / summary peak_velocity and velocity.png use the same mass-centre speed."""
    from coupling.runners.dda import group_motion
    from dda.output import mass_centre_speed

    rng = np.random.default_rng(0)

    class R:
        time = np.linspace(0, 1, 5)
        velocity = rng.normal(size=(5, 4, 3))
        centroid = rng.normal(size=(5, 4, 2))

    mass = np.array([1.0, 2.0, 3.0, 10.0])
    group = np.array([0, 2, 3])
    speed = group_motion(R, group, mass, 0.01)["speed"]
    w = mass[group] / mass[group].sum()
    expected = np.linalg.norm((w[None, :, None] * R.velocity[:, group, :2]).sum(1), axis=1)
    assert np.allclose(speed, expected, rtol=1e-14) and np.allclose(mass_centre_speed(R.velocity, mass, group), expected)
    unweighted = np.linalg.norm(R.velocity[:, group, :2], axis=2).mean(1)
    assert not np.allclose(speed, unweighted)  # the old velocity.png definition differs


@pytest.mark.parametrize("case", ["plate_hole", "cantilever"])
def test_fem_deformed_plot_text_lies_inside_the_figure(tmp_path, monkeypatch, case):
    """Every title and label of deformed.png lies inside the figure. With the zoom panel (a
    localised peak: the plate with a hole) the three-line title sat above the narrow left panel and
    ran off the figure's left edge ("argest cell value 286.2 MPa ..." in plate_hole and
    data_driven_plate, before session 18)."""
    import matplotlib.figure

    import coupling

    boxes = []
    real = matplotlib.figure.Figure.savefig

    def savefig(fig, *args, **kwargs):
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        box = fig.bbox
        texts = [fig._suptitle] + [t for ax in fig.axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label)]
        texts = [t for t in texts if t is not None and t.get_visible() and t.get_text().strip()]
        boxes.append([(t.get_text()[:40], t.get_window_extent(r), box) for t in texts])
        return real(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    coupling.run(coupling.load_case(case, ["output.fields=false"]), out=tmp_path / "run")
    assert boxes
    for text, b, fig_box in boxes[0]:
        assert b.x0 >= fig_box.x0 - 1 and b.x1 <= fig_box.x1 + 1 and b.y1 <= fig_box.y1 + 1, (text, b, fig_box)


@pytest.mark.parametrize("case, sets", [
    ("cantilever", ["fem.load_path=[0.5, 1.0, 0.25]"]),
    ("data_driven_plasticity", ['data.law={law="j2_plasticity", E=70e9, nu=0.3, yield_stress=200e6, hardening=5e9}',
                                "mesh.element_size=0.4", "mesh.hole_element_size=0.1", "fem.degree=1",
                                "fem.load_path=[0.5, 1.0, 0.25]", "fixed_point.rtol=1e-8"]),
])
def test_deformed_plot_names_the_load_factor_it_draws(tmp_path, monkeypatch, case, sets):
    """Along a load path deformed.png draws the last converged step, which may be unloaded: its
    title says λ (here 0.25 after 1.0). Before session 18 nothing told the reloaded state of
    footing / learned_plasticity_plate from the peak, or a path ending at 0 from the virgin body."""
    import matplotlib.axes
    import matplotlib.figure

    import coupling

    titles = []
    for cls, name in ((matplotlib.axes.Axes, "set_title"), (matplotlib.figure.Figure, "suptitle")):
        real = getattr(cls, name)
        monkeypatch.setattr(cls, name, lambda self, text, *a, _real=real, **k: (titles.append(text), _real(self, text, *a, **k))[1])
    coupling.run(coupling.load_case(case, sets + ["output.fields=false"]), out=tmp_path / "run")
    assert any(f"{case}: " in t and "(λ = 0.25)" in t for t in titles), titles
