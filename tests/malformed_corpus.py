"""A corpus of malformed inputs for every command, case kind and family of bad input (issue 10).

Each :class:`Entry` is one invocation of the CLI (``coupling.cli.main``) in a fresh folder
holding ``files``; ``expect`` are substrings its one-line error must contain (the file or
option, and the key path). Fixture files shared by many entries (data sets, checkpoints, a
malicious pickle) live in one folder whose absolute path replaces ``{fx}``.

Families: schema, nonfinite, setup (what ``check`` must find as ``run`` does), sizes,
output-paths, files, devices, cli-options, pickle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from block_on_base import block_on_base

KINDS = ("fem", "nmm", "dda", "data_driven")
COMMANDS = ("run", "check", "train", "data generate", "data import-csv", "cases")


@dataclass
class Entry:
    family: str
    kind: str  # a case kind, or "-" for the learning commands
    args: list[str]
    expect: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)
    name: str = ""

    @property
    def command(self) -> str:
        if not self.args:
            return ""
        if self.args[0] == "data" and len(self.args) > 1:
            return f"data {self.args[1]}"
        return self.args[0]


# ---------------------------------------------------------------------------- base cases
FEM = """title = "corpus fem"
solver = "fem"
[mesh]
kind = "rectangle"
size = [10.0, 1.0]
origin = [0.0, -0.5]
cells = [8, 2]
[material]
law = "linear_elastic"
E = 30e9
nu = 0.25
plane = "stress"
[[boundary.dirichlet]]
boundary = "left"
ux = 0.0
uy = 0.0
[[boundary.traction]]
boundary = "right"
force = [0.0, -1.0e5]
[[probes]]
name = "tip"
point = [10.0, 0.0]
quantity = "uy"
reference = -1.3e-2
"""

NMM = """title = "corpus nmm"
solver = "nmm"
[domain]
kind = "rectangle"
size = [10.0, 1.0]
origin = [0.0, -0.5]
[cover]
kind = "rectangle"
cells = [8, 2]
[material]
law = "linear_elastic"
E = 30e9
nu = 0.25
plane = "stress"
[[boundary.dirichlet]]
boundary = "left"
ux = 0.0
uy = 0.0
[[boundary.traction]]
boundary = "right"
force = [0.0, -1.0e5]
[[probes]]
name = "tip"
point = [10.0, 0.0]
quantity = "uy"
reference = -1.3e-2
"""

DDA = f"""title = "corpus dda"
solver = "dda"
gravity = [0.0, -9.81]
[materials.rock]
law = "linear_elastic"
E = 10e9
nu = 0.25
density = 2500.0
{block_on_base(phi=20.0, base_width=20.0, base_height=2.0, block_x=2.0, block_size=(2.0, 1.0))}[dda]
duration = 0.01
dt = 1e-3
[monitor]
blocks = ["block"]
"""

DATA_DRIVEN = """title = "corpus data-driven"
solver = "data_driven"
[mesh]
kind = "rectangle"
size = [1.0, 1.0]
cells = [4, 4]
[data]
kind = "manifold"
law = { law = "linear_elastic", E = 1e9, nu = 0.3 }
[[boundary.dirichlet]]
boundary = "left"
ux = 0.0
[[boundary.dirichlet]]
boundary = "bottom"
uy = 0.0
[[boundary.traction]]
boundary = "right"
traction = [1e6, 0.0]
[[probes]]
name = "corner"
point = [1.0, 1.0]
quantity = "ux"
reference = 1e-3
"""

BASE = {"fem": FEM, "nmm": NMM, "dda": DDA, "data_driven": DATA_DRIVEN}
MATERIAL_KEY = {"fem": "material", "nmm": "material", "dda": "materials.rock", "data_driven": "data.law"}


def _case(kind: str, family: str, sets: list[str], expect: list[str], command: str = "check",
          text: str | None = None, extra: list[str] | None = None, files: dict | None = None) -> Entry:
    args = [command, "case.toml"] + [a for s in sets for a in ("--set", s)]
    if command == "run":
        args += ["-o", "out", "-q"]
    args += extra or []
    return Entry(family, kind, args, ["case.toml", *expect], {"case.toml": text if text is not None else BASE[kind],
                                                                **(files or {})})


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# ---------------------------------------------------------------------------- families
NONFINITE_KEYS = {
    "fem": ["material.E", "material.nu", "material.density", "gravity=[0.0, {v}]|gravity[1]", "mesh.size[0]", "mesh.origin[1]",
            "boundary.traction[0].force[1]", "boundary.dirichlet[0].ux", "probes[0].point[0]", "probes[0].reference",
            "fem.newton.rtol", "fem.newton.atol", "output.deformation_scale",
            "output.stress_maxima_exclude=[{center=[1.0, 0.0], radius={v}}]|output.stress_maxima_exclude[0].radius"],
    "nmm": ["material.E", "material.nu", "domain.size[0]", "domain.origin[0]", "boundary.traction[0].force[1]",
            "boundary.dirichlet[0].ux", "probes[0].point[1]", "probes[0].reference", "nmm.penalty",
            "nmm.stabilisation", "nmm.newton.rtol", "gravity=[0.0, {v}]|gravity[1]", "body_force=[{v}, 0.0]|body_force[0]"],
    "dda": ["materials.rock.E", "materials.rock.density", "joints.default.law.phi", "joints.default.law.cohesion",
            "blocks[1].polygon[0][0]", "blocks[1].velocity=[{v}, 0.0]|blocks[1].velocity[0]", "gravity[1]", "dda.duration", "dda.dt",
            "dda.dt_min", "dda.penalty", "dda.length_scale", "monitor.rest_velocity"],
    "data_driven": ["data.law.E", "data.law.nu", "mesh.size[1]", "gravity=[{v}, 0.0]|gravity[0]", "density",
                    "boundary.traction[0].traction[0]", "boundary.dirichlet[0].ux", "probes[0].point[0]",
                    "probes[0].reference", "fixed_point.relaxation", "fixed_point.rtol", "fem.newton.rtol"],
}


def nonfinite() -> list[Entry]:
    out = []
    for kind, keys in NONFINITE_KEYS.items():
        for key in keys:
            template, shown = key.split("|") if "|" in key else (key + "={v}", key)
            for value in ("inf", "-inf", "nan"):
                out.append(_case(kind, "nonfinite", [template.replace("{v}", value)], [shown, "finite"]))
        # in the file itself (TOML's own inf / nan literals)
        mat = MATERIAL_KEY[kind]
        text = BASE[kind]
        e_line = "E = 30e9" if kind in ("fem", "nmm") else ("E = 10e9" if kind == "dda" else "E = 1e9")
        for value in ("inf", "nan"):
            out.append(_case(kind, "nonfinite", [], [f"{mat}.E", "finite"], text=_replace(text, e_line, f"E = {value}"),
                             command="run"))
    out.append(_case("dda", "nonfinite", ["water={level=nan}"], ["water.level", "finite"]))
    out.append(_case("dda", "nonfinite", ["water={level=[[0.0, 1.0], [inf, 2.0]]}"], ["water.level[1][0]", "finite"]))
    out.append(_case("nmm", "nonfinite", ["initial_stress={kind=\"uniform\", stress=[0.0, nan, 0.0]}"],
                     ["initial_stress.stress[1]", "finite"]))
    return out


SCHEMA = [  # (sets, expected substrings) for every kind; {m} = the material table's key path
    (["bogus=1"], ["bogus", "unknown key"]),
    (["{m}.Ee=1.0"], ["{m}.Ee", "unknown key", "did you mean 'E'"]),
    (["{m}.law=\"plastic\""], ["{m}.law", "'plastic'", "linear_elastic"]),
    (["{m}.nu=0.6"], ["{m}.nu", "0.6"]),
    (["{m}.E=\"stiff\""], ["{m}.E", "'stiff'", "a number"]),
    (["{m}.E=-1.0"], ["{m}.E", "greater than 0"]),
    (["solver=\"fem2\""], ["solver", "'fem2'"]),
    (["title=5"], ["title", "a string"]),
    (["gravity=[1.0]"], ["gravity[1]", "missing"]),
    (["gravity=[1.0, 2.0, 3.0]"], ["gravity", "2 items"]),
    (["output.fields=\"maybe\""], ["output.fields", "true | false"]),
    (["limits.max_cells=0"], ["limits.max_cells", "greater than or equal to 1"]),
    (["output=5"], ["output", "a table"]),
]


def schema() -> list[Entry]:
    out = []
    for kind in KINDS:
        m = MATERIAL_KEY[kind]
        for sets, expect in SCHEMA:
            out.append(_case(kind, "schema", [s.replace("{m}", m) for s in sets], [e.replace("{m}", m) for e in expect]))
        lines = BASE[kind].splitlines()
        no_title = "\n".join(ln for ln in lines if not ln.startswith("title")) + "\n"
        out.append(_case(kind, "schema", [], ["title", "missing required key"], text=no_title, command="run"))
        no_solver = "\n".join(ln for ln in lines if not ln.startswith("solver")) + "\n"
        out.append(_case(kind, "schema", [], ["solver", "missing required key"], text=no_solver, command="run"))
        out.append(_case(kind, "schema", [], ["TOML syntax error", "line"], text=BASE[kind] + "\n[broken\n"))
    # kind-specific keys
    out += [
        _case("fem", "schema", ["mesh.kind=\"sphere\""], ["mesh.kind", "'sphere'", "rectangle"]),
        _case("fem", "schema", ["mesh.cells=[0, 2]"], ["mesh.cells[0]", "greater than 0"]),
        _case("fem", "schema", ["fem.degree=7"], ["fem.degree", "less than or equal to 3"]),
        _case("fem", "schema", ["boundary.traction[0].traction=[1.0, 0.0]"], ["boundary.traction[0]", "exactly one"]),
        _case("nmm", "schema", ["cover.kind=\"hex\""], ["cover.kind", "'hex'"]),
        _case("nmm", "schema", ["nmm.order=2"], ["nmm.order"]),
        _case("nmm", "schema", ["cover={kind=\"graded\", h_min=1.0, h_max=0.5}"], ["cover", "h_max"]),
        _case("dda", "schema", ["blocks[1].polygon=[[0.0, 0.0], [1.0, 0.0]]"], ["blocks[1].polygon", "at least 3"]),
        _case("dda", "schema", ["joints.default.law.kind=\"glue\""], ["joints.default.law.kind", "'glue'"]),
        _case("dda", "schema", ["joints.default.law.phi=95.0"], ["joints.default.law.phi", "less than 90"]),
        _case("dda", "schema", ["joints.default={kind=\"coulomb\", phi=30.0}"], ["joints.default.kind", "renamed",
                                                                                "joints.default.law.kind"]),
        _case("dda", "schema", ["dda.max_displacement_ratio=0.5"], ["dda.max_displacement_ratio"]),
        _case("dda", "schema", ["dda.linear_solver=\"lu\""], ["dda.linear_solver", "'lu'"]),
        _case("dda", "schema", ["dda.solver=\"cg\""], ["dda.solver", "renamed", "dda.linear_solver"]),
        _case("data_driven", "schema", ["data.kind=\"cloud\""], ["data.kind", "'cloud'"]),
        _case("data_driven", "schema", ["fixed_point.method=\"newton\""], ["fixed_point.method", "'newton'"]),
        _case("data_driven", "schema", ["fixed_point.depth=0"], ["fixed_point.depth"]),
        # true / false where a number is expected, a number where true / false is (pydantic converts both)
        _case("fem", "schema", ["material.E=false"], ["material.E", "found false", "not numbers"]),
        _case("fem", "schema", ["mesh.cells=[true, 2]"], ["mesh.cells", "found [true, 2]"]),
        _case("fem", "schema", ["output.plots=0"], ["output.plots", "found 0", "true | false"]),
        _case("fem", "schema", ["output.fields=\"yes\""], ["output.fields", "found 'yes'", "true | false"]),
        _case("nmm", "schema", ["nmm.order=true"], ["nmm.order", "found true"]),
        _case("dda", "schema", ["dda.dt=true"], ["dda.dt", "found true"]),
        # false switches the restitution off (a case extending one that sets it); true is no restitution
        _case("dda", "schema", ["dda.contact_restitution=true"],
              ["dda.contact_restitution", "found true", "a number in (0, 1), or false (off)"]),
        _case("dda", "schema", ["blocks[1].fixed=1"], ["blocks[1].fixed", "found 1", "true | false"]),
        _case("data_driven", "schema", ["fixed_point.max_iterations=true"], ["fixed_point.max_iterations", "found true"]),
        # output.stress_maxima_exclude: discs {center, radius} (docs/cases.md, "Stress maxima")
        _case("fem", "schema", ["output.stress_maxima_exclude=[{center=[1.0, 0.0]}]"],
              ["output.stress_maxima_exclude[0].radius", "missing"]),
        _case("fem", "schema", ["output.stress_maxima_exclude=[{center=[1.0, 0.0], radius=-1.0}]"],
              ["output.stress_maxima_exclude[0].radius", "found -1.0", "greater than 0"]),
        _case("fem", "schema", ["output.stress_maxima_exclude={center=[1.0, 0.0], radius=1.0}"],
              ["output.stress_maxima_exclude", "found a table", "an array"]),
        _case("nmm", "schema", ["output.stress_maxima_exclude=[{center=[1.0], radius=1.0}]"],
              ["output.stress_maxima_exclude[0].center[1]", "missing"]),
        _case("nmm", "schema", ["output.stress_maxima_exclude=[{center=[1.0, 0.0], radius=1.0, r=2.0}]"],
              ["output.stress_maxima_exclude[0].r", "unknown key", "center, radius"]),
        _case("data_driven", "schema", ["output.stress_maxima_exclude=5"], ["output.stress_maxima_exclude", "found 5", "an array"]),
        _case("dda", "schema", ["output.stress_maxima_exclude=[{center=[1.0, 0.0], radius=1.0}]"],
              ["output.stress_maxima_exclude", "DDA run reports no stress maxima"]),
        # output.joint_stress_length: NMM joints only; elsewhere an unknown key, not silently ignored
        _case("nmm", "schema", ["output.joint_stress_length=0.0"], ["output.joint_stress_length", "found 0.0", "greater than 0"]),
        _case("fem", "schema", ["output.joint_stress_length=0.5"], ["output.joint_stress_length", "unknown key"]),
        _case("dda", "schema", ["output.joint_stress_length=0.5"], ["output.joint_stress_length", "unknown key"]),
        _case("data_driven", "schema", ["output.joint_stress_length=0.5"], ["output.joint_stress_length", "unknown key"]),
    ]
    return out


FIG8 = "[[0.0, 2.0], [2.0, 2.0], [1.0, 3.0], [2.0, 4.0], [0.0, 4.0], [1.0, 3.0]]"
SLIT = "[[2.0, 2.0], [4.0, 2.0], [4.0, 3.0], [3.0, 3.0], [3.0, 3.5], [3.0, 3.0], [2.0, 3.0]]"
BOWTIE = "[[2.0, 2.0], [4.0, 3.0], [4.0, 2.0], [2.0, 3.0]]"
DOMAIN = ('[[domains]]\nname = "slope"\npolygon = {poly}\nmaterial = "rock"\n'
          '[[domains.joint_sets]]\ndip = 30.0\nspacing = {spacing}\n')


def setup() -> list[Entry]:
    """Errors only the set-up finds; ``check`` must find every one, as ``run`` does."""
    cases = [
        ("fem", ["boundary.dirichlet[0].boundary=\"west\""], ["boundary.dirichlet[0].boundary", "'west'", "left"], None),
        ("fem", ["boundary.traction[0].boundary=\"east\""], ["boundary.traction[0].boundary", "'east'"], None),
        ("fem", ["probes[0].point=[20.0, 0.0]"], ["probes[0].point", "outside the mesh"], None),
        ("fem", ["probes[0].point=[5.0, 0.6]"], ["probes[0].point", "outside the mesh"], None),
        ("nmm", ["boundary.dirichlet[0].boundary=\"west\""], ["boundary.dirichlet[0].boundary", "'west'"], None),
        ("nmm", ["boundary.traction[0].boundary=\"east\""], ["boundary.traction[0].boundary", "'east'"], None),
        ("nmm", ["probes[0].point=[20.0, 0.0]"], ["probes[0].point", "outside the domain"], None),
        ("nmm", ['domain={kind="polygon", points=[[0.0, -0.5], [10.0, 0.5], [10.0, -0.5], [0.0, 0.5]]}'],
         ["domain.points", "self-intersecting"], None),
        ("nmm", ['domain={kind="polygon", points=[[0.0, -0.5], [10.0, -0.5], [10.0, 0.5], [5.0, 0.0], [5.0, 0.3], '
                 '[5.0, 0.0], [0.0, 0.5]]}'], ["domain.points", "slit"], None),
        ("nmm", ['domain.holes=[{kind="circle", center=[50.0, 0.0], radius=0.2}]'], ["domain.holes[0]", "not strictly inside"], None),
        ("nmm", ['domain.holes=[{kind="circle", center=[0.0, 0.0], radius=0.4}]'], ["domain.holes[0]", "not strictly inside"], None),
        ("nmm", ['domain.holes=[{kind="polygon", points=[[1.0, -0.2], [2.0, 0.2], [2.0, -0.2], [1.0, 0.2]]}]'],
         ["domain.holes[0].points", "self-intersecting"], None),
        ("nmm", ['domain.holes=[{kind="circle", center=[3.0, 0.0], radius=0.3}, {kind="circle", center=[3.4, 0.0], radius=0.3}]'],
         ["domain.holes[1]", "overlapping domain.holes[0]"], None),
        ("dda", ["monitor.blocks=[\"nope\"]"], ["monitor.blocks[0]", "'nope'"], None),
        ("dda", ["blocks[1].material=\"granite\""], ["blocks[1].material", "'granite'", "rock"], None),
        ("dda", ["blocks[1].edge_joints=[\"a\", \"b\", \"c\", \"d\"]"], ["blocks[1].edge_joints[0]", "'a'"], None),
        ("dda", ["blocks[1].edge_joints=[\"\", \"\"]"], ["blocks[1].edge_joints", "2 names for 4 edges"], None),
        ("dda", [f"blocks[1].polygon={FIG8}"], ["blocks[1]", "touches itself"], None),
        ("dda", [f"blocks[1].polygon={SLIT}"], ["blocks[1]", "slit"], None),
        ("dda", [f"blocks[1].polygon={BOWTIE}"], ["blocks[1]", "self-intersecting"], None),
        ("dda", ["materials.rock.density=0.0"], ["materials.rock.density", "density > 0"], None),
        ("dda", [f"joints.slide.law={{{VW}}}", 'trigger={joint="slide", rate=1.0, start=100.0}'],
         ["trigger.start", "found 100.0", "duration"], None),
        ("dda", ['joints.slide.law={kind="coulomb", phi=20.0}', 'trigger={joint="slide", rate=1.0}'],
         ["trigger.joint", "found 'slide', a coulomb law", "displacement_weakening"], None),
        ("dda", [], ["domains[0]", "touches itself"],
         DDA + DOMAIN.format(poly="[[30.0, 0.0], [40.0, 0.0], [35.0, 5.0], [40.0, 10.0], [30.0, 10.0], [35.0, 5.0]]",
                             spacing=2.0)),
        ("data_driven", ["boundary.dirichlet[0].boundary=\"west\""], ["boundary.dirichlet[0].boundary", "'west'"], None),
        ("data_driven", ["probes[0].point=[2.0, 2.0]"], ["probes[0].point", "outside the mesh"], None),
        ("data_driven", ["data={kind=\"discrete\", dataset=\"{fx}/joint.h5\"}"], ["data.dataset", "joint data set"], None),
        ("data_driven", ["data={kind=\"discrete\", dataset=\"missing.h5\"}"], ["data.dataset", "not found"], None),
        # stress-maxima discs that leave nothing outside (the maxima would be over no cell)
        ("fem", ["output.stress_maxima_exclude=[{center=[5.0, 0.0], radius=6.0}]"],
         ["output.stress_maxima_exclude", "covers every cell of the mesh"], None),
        ("nmm", ["output.stress_maxima_exclude=[{center=[5.0, 0.0], radius=6.0}]"],
         ["output.stress_maxima_exclude", "covers every manifold element"], None),
        ("data_driven", ["output.stress_maxima_exclude=[{center=[0.5, 0.5], radius=0.8}]"],
         ["output.stress_maxima_exclude", "covers every cell of the mesh"], None),
    ]
    out = []
    for kind, sets, expect, text in cases:
        for command in ("check", "run"):
            out.append(_case(kind, "setup", sets, expect, command=command, text=text))
    return out


def sizes() -> list[Entry]:
    plate = ('mesh={kind="plate_with_hole", width=2.0, height=4.0, radius=0.1, element_size=%s, '
             'hole_element_size=%s}')
    cases = [
        ("fem", ["mesh.cells=[100000, 100000]"], ["mesh.cells", "cells", "limits.max_cells"], None),
        ("fem", [plate % ("1e-5", "1e-5")], ["mesh.element_size", "limits.max_cells"], None),
        ("fem", [plate % ("0.1", "1e-6")], ["mesh.hole_element_size", "limits.max_cells"], None),
        ("fem", ["mesh.cells=[3000, 3000]", "limits.max_cells=1000"], ["mesh.cells", "1,000"], None),
        ("nmm", ["cover.cells=[100000, 100000]"], ["cover.cells", "limits.max_cells"], None),
        ("nmm", ["cover={kind=\"graded\", h_min=1e-9, h_max=1.0, growth=1.0}"], ["cover.h_min", "limits.max_cells"], None),
        ("nmm", ["cover={kind=\"graded\", h_min=1e-7, h_max=1e-6, growth=1.01}"], ["cover.h_min", "limits.max_cells"], None),
        ("dda", [], ["domains[0].joint_sets[0].spacing", "blocks", "limits.max_blocks"],
         DDA + DOMAIN.format(poly="[[30.0, 0.0], [40.0, 0.0], [40.0, 10.0], [30.0, 10.0]]", spacing="1e-9")),
        ("dda", ["limits.max_blocks=100"], ["domains[0].joint_sets[0].spacing", "100 blocks"],
         DDA + DOMAIN.format(poly="[[30.0, 0.0], [40.0, 0.0], [40.0, 10.0], [30.0, 10.0]]", spacing="0.01")),
        ("data_driven", ["mesh.cells=[100000, 100000]"], ["mesh.cells", "limits.max_cells"], None),
        ("data_driven", [plate % ("1e-5", "1e-5")], ["mesh.element_size", "limits.max_cells"], None),
        ("fem", ["mesh.cells=[300, 300]", "limits.max_memory_gb=0.01"], ["mesh.cells", "GB of memory", "limits.max_memory_gb"], None),
        ("nmm", ["cover.cells=[300, 300]", "limits.max_memory_gb=0.01"], ["cover.cells", "GB of memory", "limits.max_memory_gb"], None),
        ("data_driven", ["mesh.cells=[300, 300]", "limits.max_memory_gb=0.01"], ["mesh.cells", "GB of memory"], None),
    ]
    out = []
    for kind, sets, expect, text in cases:
        for command in ("check", "run"):
            out.append(_case(kind, "sizes", sets, expect, command=command, text=text))
    return out


def output_paths() -> list[Entry]:
    out = []
    user = {"some_file": "precious\n", "userdir/notes.txt": "mine\n"}
    for kind in KINDS:
        for target, expect in (("some_file", "existing file"), ("case.toml", "existing file"),
                               (".", "working folder"), ("userdir", "not a run folder"),
                               ("some_file/sub", "under the regular file")):
            out.append(Entry("output-paths", kind, ["run", "case.toml", "-o", target, "-q"], ["-o", expect],
                             {"case.toml": BASE[kind], **user}))
        out.append(Entry("output-paths", kind, ["run", "case.toml", "-o", ".", "--force", "-q"], ["-o", "working folder"],
                         {"case.toml": BASE[kind], **user}))
    train = ["train", "{fx}/data.h5", "--epochs", "1", "-q", "-o"]
    gen = ["data", "generate", "--material", 'law="linear_elastic", E=1e9, nu=0.3', "-n", "20", "-o"]
    imp = ["data", "import-csv", "{fx}/data.csv", "-o"]
    for prefix in (train, gen, imp):
        for target, expect in (("some_file", "not a"), ("userdir", "existing folder"),
                               ("some_file/x.h5", "under the regular file")):
            out.append(Entry("output-paths", "-", prefix + [target], ["-o", expect], dict(user)))
    out.append(Entry("output-paths", "-", train + ["m.pt"], ["-o", "m.json", "not a training report"],
                     {"m.json": '{"mine": 1}\n'}))
    out.append(Entry("output-paths", "-", train + ["m.json"], ["-o", "checkpoint name"]))
    return out


def files() -> list[Entry]:
    out = []
    for kind in KINDS:
        out.append(Entry("files", kind, ["check", "missing.toml"], ["missing.toml", "file not found"]))
        out.append(Entry("files", kind, ["run", "case.toml", "-o", "out"], ["case.toml", "not a text file"],
                         {"case.toml": b"\x80\x81\xfe\xff" * 64}))
        out.append(_case(kind, "files", [], ["extends", "not a text file"], text='extends = "base.bin"\n',
                         files={"base.bin": bytes(range(256)) * 4}))
        out.append(_case(kind, "files", [], ["extends", "not found"], text='extends = "nowhere.toml"\n'))
        out.append(_case(kind, "files", [], ["extends", "cycle"], text='extends = "case.toml"\n'))
        out.append(_case(kind, "files", [], ["extends", "found 5"], text="extends = 5\n"))
    out.append(Entry("files", "fem", ["check", "folder"], ["folder", "not a file"], {"folder/x": "x"}))
    mesh_case = _replace(FEM, 'kind = "rectangle"\nsize = [10.0, 1.0]\norigin = [0.0, -0.5]\ncells = [8, 2]',
                         'kind = "file"\npath = "m.msh"')
    for name, content in (("random", bytes(range(256)) * 8), ("header", "$MeshFormat\n4.1 0 8\n$EndMeshFormat\n"),
                          ("text", "this is not a mesh\n"),
                          ("nogroups", "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n3\n1 0 0 0\n2 1 0 0\n3 0 1 0\n"
                                       "$EndNodes\n$Elements\n1\n1 2 2 0 1 1 2 3\n$EndElements\n")):
        out.append(_case("fem", "files", [], ["mesh.path", "cannot read mesh"], text=mesh_case, files={"m.msh": content},
                         command="run"))
    out.append(_case("fem", "files", [], ["mesh.path", "not found", "allowed: a 2D triangle mesh file"], text=mesh_case))
    out.append(_case("fem", "files", ["mesh.path=\"m.stl\""], ["mesh.path", "unsupported"], text=mesh_case,
                     files={"m.stl": "solid x\n"}))
    for content in (bytes(range(256)) * 8, "garbage\n"):
        out.append(_case("nmm", "files", ["cover={kind=\"file\", path=\"c.msh\"}"], ["cover.path", "cannot read mesh"],
                         files={"c.msh": content}))
    out.append(_case("nmm", "files", ["cover={kind=\"file\", path=\"none.msh\"}"], ["cover.path", "not found"]))
    ck = {"fem": "material", "dda": "materials.rock", "data_driven": "data.law", "nmm": "material"}
    for kind, key in ck.items():
        density = ", density=2500.0" if kind == "dda" else ""
        for path, expect in (("missing.pt", "not found"), ("{fx}/random.pt", "corrupt"),
                             ("{fx}/plain.pt", "corrupt"), ("{fx}/dict.pt", "format")):
            out.append(_case(kind, "files", [f'{key}={{law="checkpoint", path="{path}"{density}}}'], [f"{key}.path", expect]))
    out.append(_case("dda", "files", ['joints.default.law={kind="checkpoint", path="{fx}/random.pt"}'],
                     ["joints.default.law.path", "corrupt"]))
    # a text file and an empty file given as a checkpoint: torch's own fault was a bare number ('(105)')
    out.append(_case("fem", "files", ['material={law="checkpoint", path="notes.txt"}'],
                     ["material.path", "not a checkpoint (neither a zip archive nor a pickle"], files={"notes.txt": "hello world\n"}))
    out.append(_case("fem", "files", ['material={law="checkpoint", path="empty.pt"}'],
                     ["material.path", "empty or cut short"], files={"empty.pt": b""}))
    out.append(_case("data_driven", "files", ['data={kind="discrete", dataset="{fx}/random.pt"}'], ["random.pt"]))
    return out


def pickle_payloads() -> list[Entry]:
    """Checkpoints whose pickle would run code if unpickled without weights_only."""
    out = []
    for kind, key, density in (("fem", "material", ""), ("nmm", "material", ""),
                               ("dda", "materials.rock", ", density=2500.0"), ("data_driven", "data.law", "")):
        for name in ("evil_torch.pt", "evil_pickle.pt"):
            out.append(_case(kind, "pickle", [f'{key}={{law="checkpoint", path="{{fx}}/{name}"{density}}}'],
                             [f"{key}.path", "corrupt"], command="run"))
    out.append(_case("dda", "pickle", ['joints.default.law={kind="checkpoint", path="{fx}/evil_torch.pt"}'],
                     ["joints.default.law.path"], command="run"))
    out.append(Entry("pickle", "-", ["train", "{fx}/evil_pickle.pt", "-o", "m.pt", "-q"], ["evil_pickle.pt"]))
    return out


def devices() -> list[Entry]:
    out = []
    for kind, key, density in (("fem", "material", ""), ("nmm", "material", ""),
                               ("dda", "materials.rock", ", density=2500.0"), ("data_driven", "data.law", "")):
        out.append(_case(kind, "devices", [f'{key}={{law="checkpoint", path="{{fx}}/model.pt", device="cuda"{density}}}'],
                         [f"{key}.device", "no CUDA"], command="run"))
    out.append(_case("dda", "devices", ['joints.default.law={kind="checkpoint", path="{fx}/model.pt", device="cuda"}'],
                     ["joints.default.law.device", "no CUDA"]))
    out.append(Entry("devices", "-", ["train", "{fx}/data.h5", "-o", "m.pt", "--device", "cuda", "-q"],
                     ["--device", "no CUDA"]))
    return out


def restart() -> list[Entry]:
    """``run --restart RUN_DIR``: not a folder, no checkpoint, a foreign or damaged file, a
    checkpoint of another case or rank count, one that does not fit, a case kind without restart."""
    out = []
    run = ["run", "case.toml", "-o", "out", "-q", "--restart"]
    user = {"some_file": "precious\n", "userdir/notes.txt": "mine\n"}
    for target, expect, extra in (
            ("nowhere", "no such folder", {}), ("some_file", "is a file", {}),
            ("userdir", "holds no restart checkpoint", {}),
            ("fake", "not a readable restart checkpoint", {"fake/restart.h5": bytes(range(256)) * 8}),
            ("fake", "not a readable restart checkpoint", {"fake/restart.h5": "not hdf5\n"}),
            ("{fx}/ckpt_foreign", "not a deepmanifold restart checkpoint", {}),
            ("{fx}/ckpt_version", "format_version", {}),
            ("{fx}/ckpt_solver", "checkpoint of a 'nmm' run", {}),
            ("{fx}/ckpt_other_case", "another case", {}),
            ("{fx}/ckpt_ranks", "written on 3 rank(s), this run has 1", {}),
            ("{fx}/ckpt_empty", "does not fit this case", {})):
        out.append(Entry("restart", "dda", run + [target], ["--restart", expect],
                         {"case.toml": DDA, **user, **extra}))
    for kind in ("fem", "nmm", "data_driven"):
        what = "a static NMM case" if kind == "nmm" else f"a '{kind}' case"
        out.append(Entry("restart", kind, run + ["{fx}/ckpt_other_case"], ["--restart", what],
                         {"case.toml": BASE[kind]}))
    out += nmm_dynamic()
    out.append(_case("dda", "restart", ["output.restart_every_steps=0"], ["output.restart_every_steps", "0"]))
    out.append(_case("dda", "restart", ["output.restart_every_seconds=-1"], ["output.restart_every_seconds", "-1"]))
    out.append(_case("dda", "restart", ["output.restart_every_seconds=inf"], ["output.restart_every_seconds"]))
    out.append(_case("dda", "restart", ["output.restart_every_steps=2.5"], ["output.restart_every_steps"]))
    out.append(_case("fem", "restart", ["output.restart_every_steps=5"], ["output.restart_every_steps"]))
    return out


#: a dynamic NMM case (nmm.duration, nmm.dt): the corpus NMM case with a density and time keys
NMM_DYNAMIC = _replace(NMM, 'plane = "stress"\n', 'plane = "stress"\ndensity = 2500.0\n') + \
    "[nmm]\nduration = 0.002\ndt = 0.001\n"


def nmm_dynamic() -> list[Entry]:
    """The time keys of a dynamic NMM case and its restart: half-given, not dividing, mixed with
    static keys, non-finite, out of range, too many steps, no density; --restart targets."""
    out = []
    static, dyn = NMM, NMM_DYNAMIC
    for text, sets, expect in (
            (static, ["nmm.duration=0.01"], ["nmm.duration", "nmm.dt"]),
            (static, ["nmm.dt=0.001"], ["nmm.dt", "nmm.duration"]),
            (static, ["nmm.output_interval=0.01"], ["nmm.output_interval", "a dynamic run"]),
            (static, ["output.restart_every_steps=5"], ["output.restart_every_steps", "a static run has no restart"]),
            (static, ["output.restart_every_seconds=10"], ["output.restart_every_seconds", "a dynamic run"]),
            (static, ["nmm.duration=0.01", "nmm.dt=0.001"], ["material.density", "> 0"]),
            (dyn, ["nmm.dt=0.0015"], ["nmm.dt", "dividing nmm.duration"]),
            (dyn, ["nmm.dt=0.003"], ["nmm.dt", "dividing nmm.duration"]),
            (dyn, ["nmm.load_steps=2"], ["nmm.load_steps", "a static run"]),
            (dyn, ["nmm.duration=1e9"], ["nmm.dt", "at most 10,000,000 steps"]),
            (dyn, ["nmm.duration=inf"], ["nmm.duration"]),
            (dyn, ["nmm.dt=nan"], ["nmm.dt"]),
            (dyn, ["nmm.duration=-1"], ["nmm.duration"]),
            (dyn, ["nmm.dt=0"], ["nmm.dt"]),
            (dyn, ["nmm.dt=\"1 ms\""], ["nmm.dt"]),
            (dyn, ["nmm.output_interval=-0.1"], ["nmm.output_interval"]),
            (dyn, ["nmm.output_interval=inf"], ["nmm.output_interval"]),
            (dyn, ["output.restart_every_steps=0"], ["output.restart_every_steps"]),
            (dyn, ["output.restart_every_steps=2.5"], ["output.restart_every_steps"]),
            (dyn, ["output.restart_every_seconds=nan"], ["output.restart_every_seconds"]),
            (dyn, ["material.density=-5"], ["material.density"]),
            (dyn, ["nmm.dynamic=true"], ["nmm.dynamic", "unknown key"]),
            (dyn, ["nmm.duration=true"], ["nmm.duration", "found true"]),
            (dyn, ["nmm.dt=1e-300"], ["nmm.dt", "at most 10,000,000 steps", "2e+297"]),
            (dyn, ["nmm.duration=1e308", "nmm.dt=1e-308"], ["nmm.dt", "at most 10,000,000 steps", "inf"]),
            (dyn, ["output.restart_every_steps=1e20"], ["output.restart_every_steps", "at most 19 digits"])):
        out.append(_case("nmm", "restart", sets, expect, text=text))
    out.append(_case("nmm", "restart", ["nmm.dt=0.0015"], ["nmm.dt", "dividing nmm.duration"], command="run", text=dyn))
    run = ["run", "case.toml", "-o", "out", "-q", "--restart"]
    user = {"some_file": "precious\n", "userdir/notes.txt": "mine\n"}
    for target, expect in (("nowhere", "no such folder"), ("some_file", "is a file"),
                           ("userdir", "holds no restart checkpoint"),
                           ("{fx}/ckpt_foreign", "not a deepmanifold restart checkpoint"),
                           ("{fx}/ckpt_other_case", "checkpoint of a 'dda' run")):
        out.append(Entry("restart", "nmm", run + [target], ["--restart", expect], {"case.toml": dyn, **user}))
    return out


MATERIAL = 'law="linear_elastic", E=1e9, nu=0.3'
JOINT = 'kind="coulomb", phi=30'


def cli_options() -> list[Entry]:
    out = []
    train = ["train", "{fx}/data.h5", "-o", "m.pt", "-q"]
    for opt, values in (("--epochs", ["0", "-1", "abc", "1.5", ""]), ("--lr", ["nan", "inf", "0", "-1", "abc", "1e9"]),
                        ("--hidden", ["abc", "0", "", "32,,32", "-4", "32,x"]), ("--val-fraction", ["1.5", "-0.1", "nan", "1"]),
                        ("--batch-size", ["0", "x"]), ("--patience", ["0"]), ("--seed", ["-1", "s"]),
                        ("--outer-iterations", ["0"]), ("--model", ["foo"]), ("--device", ["tpu"])):
        for v in values:
            out.append(Entry("cli-options", "-", train + [opt, v], [opt]))
    out += [
        Entry("cli-options", "-", train + ["--bogus"], ["--bogus", "unknown option"]),
        Entry("cli-options", "-", ["train", "{fx}/data.h5", "-q"], ["-o", "missing"]),
        Entry("cli-options", "-", ["train"], ["data", "missing"]),
        Entry("cli-options", "-", ["train", "nowhere.h5", "-o", "m.pt", "-q"], ["nowhere.h5", "not found"]),
        Entry("cli-options", "-", ["train", "{fx}/data.csv", "-o", "m.pt", "-q"], ["data.csv"]),
        Entry("cli-options", "-", ["train", "{fx}/tiny.h5", "-o", "m.pt", "-q"], ["tiny.h5", "at least 10 samples"]),
        Entry("cli-options", "-", ["train", "{fx}/joint.h5", "-o", "m.pt", "-q", "--model", "icnn"], ["--model", "joint"]),
        Entry("cli-options", "-", ["train", "{fx}/joint.h5", "-o", "m.pt", "-q", "--projection"], ["--projection"]),
    ]
    gen = ["data", "generate", "-o", "d.h5"]
    for opt, values in (("-n", ["0", "-5", "abc", "1e3"]), ("--strain-range", ["abc", "1,2", "0", "-1", "nan", "1,2,3,4", "1e-3,,1"]),
                        ("--rate-range", ["5,1", "abc", "1", "-1,2", "1,inf"]), ("--noise-strain", ["-1", "nan"]),
                        ("--noise-stress", ["inf", "-0.5"]), ("--slip-max", ["0", "-1"]), ("--seed", ["-1"]),
                        ("--sampler", ["halton"])):
        for v in values:
            base = ["--joint", JOINT] if opt in ("--rate-range", "--slip-max") else ["--material", MATERIAL]
            out.append(Entry("cli-options", "-", gen + base + [opt, v], [opt]))
    out += [
        Entry("cli-options", "-", gen + ["--joint", JOINT, "--rate-range", "0,10", "--log-rates"], ["--rate-range", "> 0"]),
        Entry("cli-options", "-", gen, ["data generate", "exactly one of --material or --joint"]),
        Entry("cli-options", "-", gen + ["--material", MATERIAL, "--joint", JOINT], ["exactly one"]),
        Entry("cli-options", "-", gen + ["--material", "law = = 1"], ["--material", "TOML"]),
        Entry("cli-options", "-", gen + ["--material", 'E=1e9, nu=0.3'], ["--material", "law", "missing"]),
        Entry("cli-options", "-", gen + ["--material", 'law="plastic"'], ["--material", "law", "'plastic'"]),
        Entry("cli-options", "-", gen + ["--material", MATERIAL + ", foo=1"], ["--material", "foo", "unknown key"]),
        Entry("cli-options", "-", gen + ["--material", 'law="linear_elastic", E=1e9'], ["--material", "nu", "missing"]),
        Entry("cli-options", "-", gen + ["--material", 'law="linear_elastic", E=inf, nu=0.3'], ["--material", "E", "finite"]),
        Entry("cli-options", "-", gen + ["--material", 'law="checkpoint", path="x.pt"'], ["--material", "law", "analytic"]),
        Entry("cli-options", "-", gen + ["--joint", 'kind="glue"'], ["--joint", "kind", "'glue'"]),
        Entry("cli-options", "-", gen + ["--joint", 'kind="coulomb", phi=95'], ["--joint", "phi"]),
        Entry("cli-options", "-", gen + ["--joint", 'kind="coulomb", phi=nan'], ["--joint", "phi", "finite"]),
    ]
    imp = ["data", "import-csv"]
    out += [
        Entry("cli-options", "-", imp + ["{fx}/binary.csv", "-o", "d.h5"], ["binary.csv", "not a text file"]),
        Entry("cli-options", "-", imp + ["{fx}/nul.csv", "-o", "d.h5"], ["nul.csv"]),
        Entry("cli-options", "-", imp + ["nowhere.csv", "-o", "d.h5"], ["nowhere.csv", "not found"]),
        Entry("cli-options", "-", imp + ["{fx}/empty.csv", "-o", "d.h5"], ["empty.csv", "empty"]),
        Entry("cli-options", "-", imp + ["{fx}/nocol.csv", "-o", "d.h5"], ["nocol.csv", "header", "sxy"]),
        Entry("cli-options", "-", imp + ["{fx}/badnum.csv", "-o", "d.h5"], ["badnum.csv", "line 3", "'x'"]),
        Entry("cli-options", "-", imp + ["{fx}/nan.csv", "-o", "d.h5"], ["nan.csv"]),
        Entry("cli-options", "-", imp + ["{fx}/data.csv", "-o", "d.h5", "--stress-unit", "psi"], ["--stress-unit", "'psi'", "MPa"]),
        Entry("cli-options", "-", imp + ["{fx}/data.csv", "-o", "d.h5", "--strain-unit", "permil"], ["--strain-unit", "'permil'"]),
        Entry("cli-options", "-", imp + ["{fx}/data.csv", "-o", "d.h5", "--plane", "axisym"], ["--plane", "'axisym'"]),
        Entry("cli-options", "-", imp + ["{fx}/data.csv"], ["-o", "missing"]),
        Entry("cli-options", "-", imp + ["{fx}", "-o", "d.h5"], ["not a file"]),
    ]
    for kind in KINDS:
        for command in ("run", "check"):
            for item, expect in (("=5", "no key path"), ("noequals", "key.path=value"), ("a..b=1", "malformed key path"),
                                 ("mesh.[0]=1", "malformed")):
                out.append(_case(kind, "cli-options", [item], ["--set", expect], command=command))
            out[-1].expect = ["--set", "malformed"]
            for e in out[-4:]:
                e.expect = [x for x in e.expect if x != "case.toml"]
        out.append(_case(kind, "cli-options", [], ["--bogus", "unknown option"], command="run", extra=["--bogus"]))
        out.append(_case(kind, "cli-options", ["limits.max_cells[1]=1"], ["--set", "limits.max_cells[1]", "not in the case file"]))
        for e in out[-2:]:
            e.expect = [x for x in e.expect if x != "case.toml"]
    out += [
        Entry("cli-options", "-", ["run"], ["case", "missing"]),
        Entry("cli-options", "-", ["check"], ["case", "missing"]),
        Entry("cli-options", "-", ["cases", "extra"], ["extra", "unknown option or extra argument"]),
        Entry("cli-options", "-", ["bogus"], ["command", "'bogus'", "run | check"]),
        Entry("cli-options", "-", ["data", "convert"], ["'convert'", "generate | import-csv"]),
        Entry("cli-options", "-", [], ["command", "missing"]),
    ]
    return out


#: a velocity-weakening joint law (has phi_peak and phi_residual: a trigger may act on it)
VW = 'kind="velocity_weakening", phi_peak=20.0, phi_residual=8.0, v_c=0.1'
#: a thermal-pressurisation joint law; {extra} adds keys
TP = ('joints.default.law={{kind="thermal_pressurisation", phi_peak=20.0, phi_residual=8.0, v_c=0.1, '
      'band_thickness=1e-3, heat_capacity=2.7e6, pressurisation=1e5{extra}}}')


def new_user() -> list[Entry]:
    """Found by trying the recent DDA keys, ``extends`` chains and the global-local commands as a
    new user would (session 13): each gave a traceback, a wrong key path, a misleading message,
    or was accepted and ignored / misread before."""
    out = [
        # the run-up reads z(x) on the line by interpolation: one point, or x not increasing, gave 0 or garbage
        _case("dda", "schema", ["monitor.runup_line=[[1.0, 2.0]]"], ["monitor.runup_line", "at least 2 points"]),
        _case("dda", "schema", ["monitor.runup_line=[[5.0, 2.0], [1.0, 4.0]]"], ["monitor.runup_line", "x strictly increasing"]),
        _case("dda", "schema", ["monitor.runup_line=[[1.0, 2.0], [1.0, 3.0]]"], ["monitor.runup_line", "x strictly increasing"]),
        # a diffusion band grid beyond 400 cells was a ValueError traceback from learned/
        _case("dda", "schema", [TP.format(extra=', band_model="diffusion", thermal_diffusivity=1e30, diffusion_time=1e30')],
              ["joints.default.law", "diffusion_time", "more than 400 cells"]),
        _case("dda", "schema", [TP.format(extra=', band_model="diffusion", thermal_diffusivity=1e30, diffusion_time=1e30')],
              ["joints.default.law", "more than 400 cells"], command="run"),
        # true / false where a table or a string belongs was "allowed: a number"
        _case("dda", "schema", ["dda=true"], ["dda", "found true", "allowed: a table"]),
        _case("dda", "schema", ["trigger=false"], ["trigger", "found false", "allowed: a table"]),
        _case("dda", "schema", ["title=true"], ["title", "found true", "allowed: a string"]),
        _case("dda", "schema", ["dda.linear_solver=true"], ["dda.linear_solver", "allowed: a string"]),
        _case("dda", "schema", ["water.level=true"], ["water.level", "allowed: a number"]),
        # Python's spelling in messages: "found 'True'" for a kind / law / solver, an array of tables in full
        _case("dda", "schema", ["joints.default.law.kind=true"], ["joints.default.law.kind", "found true;"]),
        _case("dda", "schema", ["solver=true"], ["solver", "found true;"]),
        _case("dda", "schema", ['blocks=[{name="x", polygon=[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], material="rock"}, true]'],
              ["blocks[1]", "found true;", "a table"]),
        # a table key given a number (tests/test_bad_input.py: no schema class name in the message)
        _case("dda", "schema", ["water=5"], ["water", "found 5", "allowed: a table"]),
        _case("dda", "schema", ["joints.default.law=5"], ["joints.default.law", "found 5", "allowed: a table"]),
    ]
    # --set values that open an array / table / string and are no TOML were taken as a bare string
    for item, expect in (('water={level=5.0', ["water", "not a TOML value", "Unclosed inline table"]),
                         ('joints.default.law={kind="coulomb", phi=20.0, phi=30.0}', ["joints.default.law", "Duplicate"]),
                         ('dda.dt=[1e-3', ["dda.dt", "not a TOML value"]),
                         ('title="corpus', ["title", "not a TOML value"]),
                         ('extends="other.toml"', ["extends", "only in a case file"])):
        e = _case("dda", "schema", [item], ["--set", *expect])
        e.expect = [x for x in e.expect if x != "case.toml"]
        out.append(e)
    # [output] keys a DDA run ignored (a DDA ensemble then had no displacement.npz for surrogate field)
    out.append(_case("dda", "schema", ["output.displacement=true"], ["output.displacement", "found true", "DDA"]))
    out.append(_case("dda", "schema", ["output.deformation_scale=5.0"], ["output.deformation_scale", "found 5.0"]))
    # a settling step below dt_min ran for ever at that step (dt_min is the floor of a cut step)
    out.append(_case("dda", "schema", ["dda.settle_time=0.005", "dda.settle_dt=1e-12"], ["dda.settle_dt", "dt_min"]))
    # the first step (session 25): below dt_min, or not a time step
    out.append(_case("dda", "schema", ["dda.initial_dt=1e-12"], ["dda.initial_dt", "dt_min"]))
    out.append(_case("dda", "schema", ["dda.initial_dt=-0.1"], ["dda.initial_dt", "found -0.1"]))
    out.append(_case("dda", "schema", ["dda.impact_steps=-1"], ["dda.impact_steps", "found -1"]))
    out.append(_case("dda", "schema", ["dda.impact_steps=2.5"], ["dda.impact_steps", "found 2.5"]))
    # a negative joint-set seed was a numpy ValueError traceback
    out.append(_case("dda", "schema", [], ["domains[0].joint_sets[0].seed", "found -1"],
                     text=DDA + DOMAIN.format(poly="[[30.0, 0.0], [40.0, 0.0], [40.0, 10.0], [30.0, 10.0]]",
                                              spacing=2.0) + "seed = -1\n"))
    # an index into a table set an integer key: "allowed: Keys should be strings" (pydantic's words)
    out.append(_case("dda", "cli-options", ["dda[0]=1"], ["--set dda[0]", "'dda' is a table, not an array"]))
    out.append(_case("dda", "cli-options", ["blocks[1][0]=1"], ["--set blocks[1][0]", "'blocks[1]' is a table"]))
    # session 30 (a new user's trial): an error at a key --set wrote named the case file alone, as if
    # the file held the key; an index past an array's end and a key inside a value said nothing allowed
    out.append(_case("dda", "cli-options", ["dda.durration=0.1"], ["--set dda.durration", "unknown key", "'duration'"]))
    out.append(_case("dda", "cli-options", ["dda.duration=abc"], ["--set dda.duration", "found 'abc'", "a number"]))
    out.append(_case("dda", "cli-options", ["solver=foo"], ["--set solver", "found 'foo'", "dda"]))
    out.append(_case("dda", "cli-options", ["blocks[5].name=x"], ["--set blocks[5].name", "'blocks[5]' does not exist",
                                                                  "allowed: an index 0-1 of blocks (2 entries)"]))
    out.append(_case("dda", "cli-options", ["dda.duration.x=1"], ["--set dda.duration.x", "allowed: dda.duration is a value"]))
    # extends: a joint law table changed in a child replaced the whole joint (kind missing); chains
    child = 'extends = "base.toml"\ntitle = "child"\n[joints.default.law]\nphi = 95.0\n'
    out.append(Entry("schema", "dda", ["check", "case.toml"], ["case.toml", "joints.default.law.phi", "less than 90"],
                     {"case.toml": child, "base.toml": DDA}))
    out.append(Entry("schema", "dda", ["run", "case.toml", "-o", "out", "-q"], ["case.toml", "joints.default.law.phi"],
                     {"case.toml": child, "base.toml": DDA}))
    out.append(Entry("schema", "dda", ["check", "case.toml"], ["b.toml", "extends", "'missing.toml' not found"],
                     {"case.toml": 'extends = "b.toml"\n', "b.toml": 'extends = "missing.toml"\n'}))
    out.append(Entry("schema", "dda", ["check", "case.toml"], ["extends", "cycle"],
                     {"case.toml": 'extends = "b.toml"\n', "b.toml": 'extends = "c.toml"\n', "c.toml": 'extends = "b.toml"\n'}))
    # a misspelt shipped case name: "file not found" only
    out.append(Entry("files", "dda", ["check", "vajnt"], ["vajnt", "file not found", "did you mean 'vajont'"]))
    out.append(Entry("files", "dda", ["run", "cases/vajont.toml", "-o", "out", "-q"],
                     ["cases/vajont.toml", "file not found", "shipped case by its name: vajont"]))
    # a copy of a shipped case that extends another shipped case (vajont_10block.toml: extends = "vajont.toml")
    out.append(Entry("files", "dda", ["check", "case.toml"], ["extends", "'vajont.toml' not found", "the shipped case 'vajont'"],
                     {"case.toml": 'extends = "vajont.toml"\ntitle = "my vajont"\n'}))
    # the global-local commands
    sur = "{fx}/sur.pt"
    phi = "joints.default.law.phi"
    out += [
        Entry("cli-options", "dda", ["surrogate", "bogus"], ["surrogate subcommand", "'bogus'", "train | field"]),
        Entry("cli-options", "dda", ["surrogate"], ["surrogate subcommand", "missing"]),
        Entry("cli-options", "dda", ["surrogate", "predict", sur, "--at", f"{phi}=nan"], ["--at", phi, "finite"]),
        Entry("cli-options", "dda", ["surrogate", "predict", sur, "--at", f"{phi}=inf"], ["--at", phi, "finite"]),
        Entry("cli-options", "dda", ["surrogate", "predict", sur, "--at", f"{phi}=20", "--at", f"{phi}=21"], ["--at", "twice"]),
        Entry("cli-options", "dda", ["surrogate", "predict", "bad.pt", "--at", f"{phi}=20"],
              ["bad.pt", "unreadable or corrupt", "not tensors, numbers and text only"], {"bad.pt": "garbage\n"}),
        Entry("cli-options", "dda", ["surrogate", "train", "{fx}/data.h5", "-o", "s.pt", "--outputs", ""],
              ["--outputs", "found ''"]),
        Entry("cli-options", "dda", ["surrogate", "train", "{fx}/data.h5", "-o", "s.pt", "--outputs", "runout,,drop"],
              ["--outputs", "runout,,drop"]),
        Entry("cli-options", "dda", ["calibrate", "dda_incline", "--surrogate", sur, "--observe", "runout=1±0.1",
                                     "--free", f"{phi}=15:20", "--free", f"{phi}=20:28", "-o", "cal", "-q"],
              ["--free", "twice"]),
        Entry("cli-options", "dda", ["calibrate", "cantilever", "--surrogate", sur, "--observe", "runout=1±0.1",
                                     "-o", "cal", "-q"], ["--surrogate", "dda_incline.toml", "do not fit", "cantilever.toml"]),
        Entry("cli-options", "dda", ["calibrate", "case.toml", "--surrogate", sur, "--observe", "runout=1±0.1", "--set",
                                     f'joints.default.law={{{VW}}}', "-o", "cal", "-q"],
              ["--surrogate", "do not fit", "joints.default.law.phi"], {"case.toml": DDA}),
        Entry("cli-options", "dda", ["calibrate", "dda_incline", "--surrogate", sur, "--observe", "runout=1±0",
                                     "-o", "cal", "-q"], ["--observe", "SIGMA > 0"]),
        # an empty value: run -o "" wrote into results/<case>; others read it as the working folder
        Entry("cli-options", "dda", ["run", "case.toml", "-o", "", "-q"], ["-o", "found ''"], {"case.toml": DDA}),
        Entry("cli-options", "dda", ["run", "", "-q"], ["case", "found ''"]),
        Entry("cli-options", "dda", ["check", "case.toml", "--set", ""], ["--set", "found ''"], {"case.toml": DDA}),
        Entry("cli-options", "dda", ["calibrate", "dda_incline", "--surrogate", "", "--observe", "runout=1±0.1",
                                     "-o", "cal"], ["--surrogate", "found ''"]),
    ]
    return out


def inputs_trial() -> list[Entry]:
    """Found by a new-user trial of bad inputs (session 16): accepted, or a misleading message."""
    out = []
    # a quoted number was read as the number (pydantic's lax mode); "true" for a boolean was refused
    for kind in KINDS:
        m = MATERIAL_KEY[kind]
        out.append(_case(kind, "schema", [f'{m}.E="30e9"'], [f"{m}.E", "found '30e9' (a string)", "write 30e9 without quotes"]))
    out += [
        _case("fem", "schema", ['mesh.cells=["8", 2]'], ["mesh.cells[0]", "found '8' (a string)", "a number"]),
        _case("nmm", "schema", ['material.nu="0.25"'], ["material.nu", "found '0.25' (a string)"]),
        _case("nmm", "schema", ['nmm.order="1"'], ["nmm.order", "found '1'", "0 or 1"]),  # a Literal: refused before too
        _case("dda", "schema", ['dda.dt="1e-3"'], ["dda.dt", "found '1e-3' (a string)"], command="run"),
        _case("data_driven", "schema", ['fixed_point.depth="5"'], ["fixed_point.depth", "found '5' (a string)"]),
        # water.level's message left out its table form
        _case("dda", "schema", ['water.level="high"'], ["water.level", "or a table [[t, level], ...]"]),
        # a monitored group of fixed blocks ran and reported zeros
        _case("dda", "setup", ['monitor.blocks=["base"]'], ["monitor.blocks[0]", "found 'base' (a fixed block)",
                                                           "a name of free blocks: block"]),
        _case("dda", "setup", ['monitor.blocks=["block", "base"]'], ["monitor.blocks[1]", "(a fixed block)"], command="run"),
    ]
    # data generate wrote data sets train refuses
    gen = ["data", "generate", "-o", "d.h5"]
    out += [
        Entry("cli-options", "-", gen + ["-n", "1", "--material", 'law="linear_elastic", E=1e9, nu=0.3'],
              ["-n", "found 1", "train needs at least 10 samples"]),
        Entry("cli-options", "-", gen + ["--paths", "1", "--material", 'law="j2_plasticity", E=1e9, nu=0.3, yield_stress=1e6'],
              ["--paths", "found 1", "train needs at least 2"]),
    ]
    # a folder given as an input file was "file not found"
    folder = {"in.h5/x": "x"}
    out += [
        Entry("files", "-", ["train", "{fx}", "-o", "m.pt", "-q"], ["{fx}", "a folder, not a file"]),
        _case("fem", "files", ['mesh={kind="file", path="in.h5"}'], ["mesh.path", "is a folder, not a file"], files=folder),
        _case("nmm", "files", ['cover={kind="file", path="in.h5"}'], ["cover.path", "is a folder, not a file"], files=folder),
        _case("data_driven", "files", ['data={kind="discrete", dataset="in.h5"}'], ["data.dataset", "is a folder, not a file"],
              files=folder),
    ]
    return out


def recent_keys() -> list[Entry]:
    """The keys and options added most recently (session 18's trial of bad input): the DDA
    joint-law band keys, water drag, contact restitution / damping time, the linear solver and
    its parts, trigger, monitor, output, limits; empty paths, supports, --vary, the learning
    commands' outputs. Entries marked "before" gave a traceback, exit 0, a wrong key path, two
    "allowed:" or a misleading message before session 18; the rest pin the new keys' messages."""
    J = "joints.default.law"
    out: list[Entry] = []

    def dda(family, sets, expect, command="check", **kw):
        out.append(_case("dda", family, sets, expect, command=command, **kw))

    # thermal pressurisation: band model, diffusivities, band thickness, Lambda (pressurisation)
    for extra, expect in ((', band_model="foo"', ["band_model", "'foo'", "lumped"]),
                          (', band_model=true', ["band_model", "found true"]),
                          (', thermal_diffusivity=-1.0', ["thermal_diffusivity", "greater than or equal to 0"]),
                          (', thermal_diffusivity="x"', ["thermal_diffusivity", "found 'x' (a string)"]),
                          (', hydraulic_diffusivity=-1.0', ["hydraulic_diffusivity", "greater than or equal to 0"]),
                          (', diffusion_time=0.0', ["diffusion_time", "greater than 0"]),
                          (', diffusion_time=inf', ["diffusion_time", "finite"]),
                          (', band_model="diffusion", thermal_diffusivity=nan', ["thermal_diffusivity", "finite"]),
                          (', Lambda=1e5', ["Lambda", "unknown key", "pressurisation"]),
                          (', thermal_diffusivity=1e-6', ["band_model = 'lumped'", "band_model = 'diffusion'"])):
        dda("schema", [TP.format(extra=extra)], [J, *expect])
    for key in ("band_thickness", "heat_capacity", "pressurisation", "v_c"):
        for value, expect in (("0.0", "greater than 0"), ("-1.0", "greater than 0"), ("nan", "finite"),
                              ('"1"', "write 1 without quotes")):
            dda("schema", [TP.format(extra=""), f"{J}.{key}={value}"], [f"{J}.{key}", expect])
    dda("schema", [f'{J}={{kind="thermal_pressurisation", phi_peak=20.0}}'], [f"{J}.phi_residual", "missing"])
    # water: drag, skin friction, level tables
    for sets, expect in ((["water={level=1.0, drag_coefficient=-1.0}"], ["water.drag_coefficient", "greater than or equal to 0"]),
                         (["water={level=1.0, drag_coefficient=nan}"], ["water.drag_coefficient", "finite"]),
                         (['water={level=1.0, drag_coefficient="1"}'], ["water.drag_coefficient", "(a string)"]),
                         (["water={level=1.0, skin_friction=-0.1}"], ["water.skin_friction", "greater than or equal to 0"]),
                         (["water={level=1.0, skin_friction=inf}"], ["water.skin_friction", "finite"]),
                         (["water={level=1.0, drag=1.0}"], ["water.drag", "unknown key", "drag_coefficient"]),
                         (["water={level=1.0, density=0.0}"], ["water.density", "greater than 0"]),
                         (["water={}"], ["water.level", "missing"]),
                         (["water={level=[1.0, 2.0]}"], ["water.level[0]", "an array"]),
                         (["water.level=[[0.0, 1.0], [1.0]]"], ["water.level[1][1]", "missing"]),
                         # before: "found table of shape (2, 2)" / "(0,)": the order was the fault
                         (["water={level=[]}"], ["water.level", "found []", "at least one row"]),
                         (["water={level=[[1.0, 1.0], [0.0, 2.0]]}"], ["water.level", "t strictly increasing", "row 1"]),
                         (["water={level=[[0.0, 1.0], [0.0, 2.0]]}"], ["water.level", "t strictly increasing"])):
        dda("schema", sets, expect)
    dda("schema", ["water={level=[[1.0, 1.0], [0.0, 2.0]]}"], ["water.level", "t strictly increasing"], command="run")
    # [dda]: restitution, damping time, linear solver, parts, distribution
    for item, expect in (("contact_restitution=0.0", "greater than 0"), ("contact_restitution=1.0", "less than 1"),
                         ("contact_restitution=nan", "finite"), ('contact_restitution="0.2"', "write 0.2 without quotes"),
                         ("contact_restitution=true", "found true"), ("contact_damping_time=-1.0", "greater than or equal to 0"),
                         ("contact_damping_time=inf", "finite"), ("schur_parts=0", "greater than or equal to 1"),
                         ("schur_parts=1.5", "an integer"), ("schur_parts=1e30", "at most 19 digits"),
                         ("distribute_min_free_blocks=-1", "greater than or equal to 0"),
                         ("distribute_min_free_blocks=2.5", "an integer"), ("distribute_min_free_blocks=true", "found true"),
                         ('linear_solver="SCHUR"', "'SCHUR'"), ('linear_solver=""', "found ''")):
        dda("schema", [f"dda.{item}"], [f"dda.{item.split('=')[0]}", expect])
    for other in ("contact_damping_ratio=0.5", "contact_damping_time=0.01"):
        dda("schema", ["dda.contact_restitution=0.2", f"dda.{other}"], ["dda.contact_restitution", other.split("=")[0]])
    # [trigger]
    for sets, expect in (([f"{J}={{{VW}}}", 'trigger={joint="default", rate=0.0}'], ["trigger.rate", "greater than 0"]),
                         ([f"{J}={{{VW}}}", 'trigger={joint="default", rate=1.0, start=-1.0}'], ["trigger.start", "greater than or equal"]),
                         ([f"{J}={{{VW}}}", 'trigger={joint="default", rate=1.0, hold_velocity=0.0}'], ["trigger.hold_velocity"]),
                         (['trigger={enabled="no"}'], ["trigger.enabled", "true | false"]),
                         (['trigger={enabled=true}'], ["trigger.joint", "missing (required while trigger.enabled = true)"]),
                         (['trigger={joint=5, rate=1.0}'], ["trigger.joint", "a string"]),
                         (['trigger={joint="default"}'], ["trigger.rate", "missing"]),
                         (['trigger={joint="default", rate=1.0, bogus=1}'], ["trigger.bogus", "unknown key"]),
                         # before: "allowed: define [joints.NAME]", with joints.default defined
                         ([f"{J}={{{VW}}}", 'trigger={joint="default", rate=1.0}'],
                          ["trigger.joint", "found 'default' (the default joint law, which a trigger cannot weaken)"])):
        dda("setup" if "trigger cannot weaken" in expect[-1] else "schema", sets, expect)
    dda("setup", [f"{J}={{{VW}}}", 'trigger={joint="default", rate=1.0}'], ["trigger.joint", "the default joint law"],
        command="run")
    # [monitor], [output], [limits]
    for item, expect in (("monitor.rest_window=0.0", "greater than 0"), ("monitor.rest_window=nan", "finite"),
                         ('monitor.rest_window="1"', "(a string)"), ('monitor.blocks="block"', "an array"),
                         ("monitor.blocks=[1]", "a string"), ("monitor.runup_line=[[0.0, nan], [1.0, 1.0]]", "finite"),
                         ("output.restart_every_steps=-1", "greater than or equal to 1"),
                         ('output.restart_every_steps="5"', "(a string)"), ('output.plots="true"', "true | false"),
                         ("limits.max_blocks=1.5", "an integer"), ("limits.max_memory_gb=nan", "finite"),
                         ("limits=[1]", "a table"),
                         # before: accepted and ignored (DDA has no mesh and no memory estimate)
                         ("limits.max_memory_gb=1e-9", "limits.max_blocks bounds it"),
                         ("limits.max_cells=10", "a DDA case has no mesh")):
        dda("schema", [item], [item.split("=")[0].split("[")[0], expect])
    dda("schema", ["limits.max_memory_gb=1e-9"], ["limits.max_memory_gb", "limits.max_blocks bounds it"], command="run")
    for kind in ("fem", "nmm", "data_driven"):
        out.append(_case(kind, "schema", ["limits.max_blocks=10"], ["limits.max_blocks", "DDA blocks only"]))
    # checkpoints of the other law kind, and empty paths (before: "model '.' is a folder, not a file")
    dda("files", [f'{J}={{kind="checkpoint", path="{{fx}}/model.pt"}}'], [f"{J}.path", "holds a constitutive model"])
    dda("files", [f'{J}={{kind="checkpoint", path=""}}'], [f"{J}.path", "found ''", "not empty"])
    dda("files", ['materials.rock={law="checkpoint", path="", density=2500.0}'], ["materials.rock.path", "found ''"])
    dda("files", ['materials.rock={law="checkpoint", path="{fx}/joint_model.pt", density=2500.0}'],
        ["materials.rock.path", "holds a joint model"])
    for kind, key in (("fem", "material"), ("nmm", "material"), ("data_driven", "data.law")):
        out.append(_case(kind, "files", [f'{key}={{law="checkpoint", path=""}}'], [f"{key}.path", "found ''", "not empty"]))
        out.append(_case(kind, "files", [f'{key}={{law="checkpoint", path="{{fx}}/joint_model.pt"}}'],
                         [f"{key}.path", "holds a joint model"]))
        out.append(_case(kind, "files", [f'{key}={{law="checkpoint", path="{{fx}}/sur.pt"}}'], [f"{key}.path", "'surrogate'"]))
    out += [
        _case("fem", "files", ['mesh={kind="file", path=""}'], ["mesh.path", "found ''", "not empty"]),
        _case("data_driven", "files", ['mesh={kind="file", path=" "}'], ["mesh.path", "found ' '"]),
        _case("nmm", "files", ['cover={kind="file", path=""}'], ["cover.path", "found ''"]),
        _case("data_driven", "files", ['data={kind="discrete", dataset=""}'], ["data.dataset", "found ''"]),
        _case("nmm", "files", ['joints=[{points=[[1.0, -0.5], [1.0, 0.5]], law={kind="checkpoint", path=""}}]'],
              ["joints[0].law.path", "found ''"]),
        # a mesh file with no cells, an empty one, a file of another format (run: the mesh is read)
        _case("fem", "files", ['mesh={kind="file", path="m.msh"}'], ["mesh.path", "cannot read mesh"], command="run",
              files={"m.msh": ""}),
        _case("data_driven", "files", ['mesh={kind="file", path="m.msh"}'], ["mesh.path", "no 2D elements"], command="run",
              files={"m.msh": "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n0\n$EndNodes\n$Elements\n0\n$EndElements\n"}),
        _case("fem", "files", ['mesh={kind="file", path="m.h5"}'], ["mesh.path", "unsupported mesh format '.h5'"],
              files={"m.h5": b"\x89HDF\r\n\x1a\n" + bytes(200)}),
        # a run that would take for ever at its largest steps (before: check ok)
        _case("dda", "schema", ["dda.duration=1e300"], ["dda.dt", "found 0.001 s with duration = 1e+300 s",
                                                           "at most 10,000,000 steps"]),
        _case("dda", "schema", ["dda.duration=1.0", "dda.dt=1e-300", "dda.dt_min=1e-301"], ["dda.dt", "1e+300 steps"]),
        _case("dda", "schema", ["dda.settle_time=0.005", "dda.settle_dt=1e-10", "dda.dt_min=1e-11"],
              ["dda.settle_dt", "found 1e-10 s", "settle_time = 0.005 s"]),
        _case("fem", "schema", ["fem.load_steps=100000000000"], ["fem.load_steps", "less than or equal to 100000"]),
        _case("nmm", "schema", ["nmm.load_steps=1000000"], ["nmm.load_steps", "less than or equal to 100000"]),
        # before: "...; allowed: a mesh file meshio can read; allowed: a triangle mesh ..." (two "allowed:")
        _case("nmm", "files", ['cover={kind="file", path="c.msh"}'], ["cover.path", "cannot read mesh"], command="run",
              files={"c.msh": ""}),
        _case("data_driven", "files", ['data={kind="discrete", dataset="{fx}/random.pt"}'],
              ["data.dataset", "not a readable HDF5 file"]),
        _case("data_driven", "files", ['data={kind="discrete", dataset="d.h5"}'], ["data.dataset", "d.h5"], command="run",
              files={"d.h5": b"\x89HDF\r\n\x1a\n" + bytes(300)}),
    ]
    # no support: before, check said ok and the run diverged (exit 3) with a run folder
    for kind in ("fem", "data_driven", "nmm"):
        for command in ("check", "run"):
            out.append(_case(kind, "schema", ["boundary.dirichlet=[]"], ["boundary.dirichlet", "rigid body"], command=command))
    out.append(_case("fem", "schema", ["boundary={}"], ["boundary.dirichlet", "no Dirichlet condition"]))
    # NMM point supports / loads outside the domain: the key path was "point"
    for table, item in (("point", "{point=[50.0, 0.0], ux=0.0}"), ("point_load", "{point=[50.0, 0.0], force=[1.0, 0.0]}")):
        for command in ("check", "run"):
            out.append(_case("nmm", "setup", [f"boundary.{table}=[{item}]"], [f"boundary.{table}[0].point", "outside the domain"],
                             command=command))
    # --set: a line break in the value set a second key, which was then ignored
    e = _case("dda", "cli-options", ["dda.dt=1e-3\nbogus=1"], ["--set", "dda.dt", "more than one value"])
    e.expect = [x for x in e.expect if x != "case.toml"]
    out.append(e)
    # --vary: the option is named (before: "case.toml: bogus: unknown key", as if the file held it); an
    # integer key, and a range every member fails at set-up (before: exit 0, all members failed)
    phi = "joints.default.law.phi"
    ens = ["ensemble", "case.toml", "--samples", "2", "-o", "ens", "-q", "--vary"]
    # (session 30) the value tried is named as such ("the case with bogus=1, a value of --vary ..."; before
    # "(at 1 in bogus=1:2)", read as a position), and the key without "--set " (the loader's mark for overrides)
    for vary, expect in (("bogus=1:2", ["error: --vary: bogus: unknown key", "(the case with bogus=1, a value of --vary bogus=1:2)"]),
                         (f"{phi}=0:100", ["--vary", phi, "found 100.0", "less than 90"]),
                         ("dda.schur_parts=1:3", ["--vary", "dda.schur_parts", "an integer"]),
                         ("trigger.rate=0.1:1", ["--vary", "trigger.joint", "missing", "with trigger.rate=0.1"])):
        out.append(Entry("cli-options", "dda", ens + [vary], expect, {"case.toml": DDA}))
    out.append(Entry("cli-options", "dda", ["surrogate", "active", "case.toml", "--vary", "bogus=1:2", "-o", "act"],
                     ["--vary", "bogus", "unknown key"], {"case.toml": DDA}))
    # the learning commands: a place that cannot be written (before: a FileNotFoundError traceback)
    for args in (["data", "generate", "--material", MATERIAL, "-n", "20", "-o", "/proc/d.h5"],
                 ["data", "import-csv", "{fx}/data.csv", "-o", "/proc/d.h5"],
                 ["train", "{fx}/data.h5", "-q", "-o", "/proc/m.pt"]):
        out.append(Entry("output-paths", "-", args, ["-o", "/proc"]))
    gen = ["data", "generate", "-o", "d.h5"]
    out += [
        # before: numpy overflow warnings (5 lines) and "d.h5: /stress: NaN/inf" (the output named)
        Entry("cli-options", "-", gen + ["--material", MATERIAL, "--strain-range", "1e300"], ["--strain-range", "<= 1"]),
        Entry("cli-options", "-", gen + ["--material", 'law="j2_plasticity", E=1e9, nu=0.3, yield_stress=1e6', "--paths", "5",
                                         "--strain-range", "2"], ["--strain-range", "<= 1"]),
        Entry("cli-options", "-", gen + ["--material", 'law="linear_elastic", E=1.7e308, nu=0.3', "--strain-range", "1",
                                         "--sampler", "uniform", "-n", "20"], ["--material", "non-finite", "overflow"]),
        Entry("cli-options", "-", gen + ["--joint", JOINT, "-n", "20", "--paths", "3"], ["--paths", "--joint"]),
        # before: accepted and ignored (--isotropic is read by --model return_mapping only)
        Entry("cli-options", "-", ["train", "{fx}/data.h5", "-o", "m.pt", "-q", "--isotropic"], ["--isotropic", "return_mapping"]),
        Entry("cli-options", "-", ["train", "{fx}/joint.h5", "-o", "m.pt", "-q", "--isotropic"], ["--isotropic", "joint data set"]),
    ]
    imp = ["data", "import-csv", "h.csv", "-o", "d.h5"]
    head = "exx,eyy,gxy,sxx,syy,sxy\n"
    out += [
        Entry("files", "-", imp, ["h.csv", "no rows"], {"h.csv": head}),
        # before: the seventh value was dropped and the data set written
        Entry("files", "-", imp, ["h.csv", "line 2", "7 values for 6 header columns"], {"h.csv": head + "1,2,3,4,5,6,7\n"}),
        Entry("files", "-", imp, ["h.csv", "line 3", "column syy"], {"h.csv": head + "1,2,3,4,5,6,\n1,2,3,4\n"}),
        Entry("files", "-", imp, ["h.csv", "no column 'exx'", "separated by ';'?"], {"h.csv": "exx;eyy;gxy;sxx;syy;sxy\n1;2;3;4;5;6\n"}),
    ]
    return out


def partial_supports() -> list[Entry]:
    """Supports that leave a rigid-body motion free (session 19; before: ``check`` said ok, and the
    static solve was singular), and a training option that was accepted and ignored."""
    out = []
    for kind, sets, expect in (
            ("fem", ['boundary.dirichlet=[{boundary="left", uy=0.0}]'], ["no support holds ux"]),
            ("nmm", ['boundary.dirichlet=[{boundary="left", ux=0.0}]'], ["no support holds uy"]),
            ("data_driven", ['boundary.dirichlet=[{boundary="left", ux=0.0}]'], ["no support holds uy"]),
            ("fem", ['boundary.dirichlet=[{boundary="point", point=[0.0, 0.0], ux=0.0, uy=0.0}]'], ["rotate"]),
            ("nmm", ["boundary.dirichlet=[]", "boundary.point=[{point=[0.0, 0.0], ux=0.0, uy=0.0}, "
                     "{point=[0.0, 0.0], uy=0.0}]"], ["boundary.point", "rotate"])):
        for command in ("check", "run"):
            out.append(_case(kind, "schema", sets, ["boundary.", *expect], command=command))
    out.append(Entry("cli-options", "-", ["train", "{fx}/data.h5", "-o", "m.pt", "-q", "--outer-iterations", "3"],
                     ["--outer-iterations", "without --projection"]))
    return out


def seed_without_draw() -> list[Entry]:
    """``ensemble --design grid --seed N`` (session 19's new-user pass; before: accepted, and the
    grid's cell centres took no random draw from it: the run went on as if it had been read)."""
    ens = ["ensemble", "case.toml", "--vary", "joints.default.law.phi=15:28", "--samples", "2", "-o", "ens", "-q"]
    return [Entry("cli-options", "dda", ens + ["--design", "grid", "--seed", "3"],
                  ["--seed", "found 3 with --design grid", "lhs | sobol"], {"case.toml": DDA})]


def corpus() -> list[Entry]:
    entries = nonfinite() + schema() + setup() + sizes() + output_paths() + files() + pickle_payloads() + devices() \
        + cli_options() + restart() + new_user() + inputs_trial() + recent_keys() + partial_supports() \
        + seed_without_draw()
    for i, e in enumerate(entries):
        slug = re.sub(r"[^A-Za-z0-9]+", "_", " ".join(e.args[:1] + e.args[2:5]))[:40]
        e.name = f"{e.family}-{e.kind}-{i:03d}-{slug}"
    return entries


def totals(entries: list[Entry]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in entries:
        out[e.family] = out.get(e.family, 0) + 1
    return out
