"""Bad input: one line naming file and key path, exit status 2, no traceback, no output left."""

import pytest

from conftest import CASES, assert_one_line_error, run_cli

BASE = (CASES / "cantilever.toml").read_text()


def check_error(tmp_path, text, *expected, extra=()):
    return assert_one_line_error(tmp_path, text, *expected, extra=extra)


def test_missing_file(tmp_path):
    check_error(tmp_path, None, "file not found")


def test_toml_syntax_error_names_line(tmp_path):
    text = BASE.replace("nu = 0.25", "nu = = 0.25", 1)
    line = text.splitlines().index("nu = = 0.25") + 1
    check_error(tmp_path, text, "TOML syntax error", f"line {line}")


def test_unknown_key_suggests_closest(tmp_path):
    check_error(tmp_path, BASE.replace("cells = [80, 8]", "cels = [80, 8]"), "mesh.cels", "did you mean 'cells'")


def test_wrong_type(tmp_path):
    check_error(tmp_path, BASE.replace("E = 30e9", 'E = "stiff"'), "material.E", "'stiff'", "number")


@pytest.mark.parametrize("old,new,key,allowed", [
    ("E = 30e9", "E = 0.0", "material.E", "greater than 0"),
    ("E = 30e9", "E = -5e9", "material.E", "greater than 0"),
    ("nu = 0.25", "nu = 0.5", "material.nu", "less than 0.5"),
    ('plane = "stress"', 'plane = "stress"\ndensity = -1.0', "material.density", "greater than or equal to 0"),
])
def test_out_of_range(tmp_path, old, new, key, allowed):
    check_error(tmp_path, BASE.replace(old, new), key, allowed)


def test_unknown_choice_lists_allowed(tmp_path):
    check_error(tmp_path, BASE.replace('law = "linear_elastic"', 'law = "plastic"'), "material.law",
                "linear_elastic | power_law_elastic")


def test_unknown_boundary_name(tmp_path):
    check_error(tmp_path, BASE.replace('boundary = "left"', 'boundary = "west"'),
                "boundary.dirichlet[0].boundary", "'west'", "left")


def test_bad_override(tmp_path):
    (tmp_path / "case.toml").write_text(BASE)
    check_error(tmp_path, BASE, "fem.degree", extra=("--set", "fem.degree=7"))


MESH_CASE = BASE.replace('''kind = "rectangle"
size = [10.0, 1.0]          # L x h [m]
origin = [0.0, -0.5]        # neutral axis on y = 0
cells = [80, 8]''', '''kind = "file"
path = "beam.msh"''')


def test_missing_mesh_file(tmp_path):
    check_error(tmp_path, MESH_CASE, "mesh.path", "not found")
    

def test_unreadable_mesh(tmp_path):
    (tmp_path / "case.toml").write_text(MESH_CASE)
    (tmp_path / "beam.msh").write_text("$MeshFormat\nthis is not a mesh\n")
    case = tmp_path / "case.toml"
    r = run_cli("run", str(case), "-o", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert str(case) in lines[0] and "mesh.path" in lines[0] and "cannot read mesh" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("item", ["water=5", "joints.default.law=5", "dda=5", "monitor=[1.0]", "trigger=7"])
def test_a_table_key_given_a_value_says_a_table_without_schema_names(item, tmp_path, monkeypatch):
    """A table key given a number / array / string: 'allowed: a table', never the schema's class
    name ('a table WaterSpec') or pydantic's 'object to extract fields from' (session 13)."""
    import sys

    sys.path.insert(0, str(CASES.parent / "tests"))
    import malformed_corpus as mc
    from conftest import cli_inprocess

    monkeypatch.chdir(tmp_path)
    (tmp_path / "case.toml").write_text(mc.DDA)
    code, _, err = cli_inprocess("check", "case.toml", "--set", item)
    line = err.strip()
    assert code == 2 and len(line.splitlines()) == 1, err
    key = item.split("=")[0]
    assert line.endswith(f"{key}: found {item.split('=', 1)[1]}; allowed: a table"), line


# ---------------------------------------------------------------------------- session 16 (new user)
DUPLICATE_PROBES = ('probes=[{name="a", point=[1.0, 0.0], quantity="ux"}, {name="b", point=[1.0, 0.0], quantity="ux"}, '
                    '{name="a", point=[1.0, 0.0], quantity="uy"}]')


@pytest.mark.parametrize("case", ["cantilever", "nmm_cantilever", "data_driven_plate"])
def test_a_repeated_probe_name_is_refused(case):
    """A probe's name keys results.probes: the second 'a' replaced the first one's value there,
    silently (session 16)."""
    from conftest import cli_inprocess

    code, _, err = cli_inprocess("check", case, "--set", DUPLICATE_PROBES)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert f"{case}.toml: probes[2].name: found 'a'; allowed: a name not used by another probe (probes[0]" in lines[0]


@pytest.mark.parametrize("r_out", ["0.31", "1.0", "100.0"])
def test_a_sif_radius_beyond_the_boundary_is_refused(r_out):
    """sif.r_out past the tip's distance to the boundary (0.3 m in nmm_edge_crack) gave K_I 8.8 %
    low at 1 m and K_I = K_II = 0 at 100 m (the inner disc held the whole plate), silently."""
    from conftest import cli_inprocess

    code, _, err = cli_inprocess("check", "nmm_edge_crack", "--set", f"sif.r_out={r_out}")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "nmm_edge_crack.toml: --set sif.r_out: found" in lines[0] and "allowed: at most 0.3 m" in lines[0], lines[0]
    code, out, err = cli_inprocess("check", "nmm_edge_crack", "--set", "sif.r_out=0.3")  # the limit itself
    assert code == 0, err


@pytest.mark.parametrize("extra", [("--strain-range", "1e-3"), ("--strain-range", "1e-3,2e-3,5e-4")])
def test_data_generate_min_strain_above_the_range(tmp_path, monkeypatch, extra):
    """--min-strain at or above the largest strain bound was a ValueError traceback (session 16)."""
    from conftest import cli_inprocess

    monkeypatch.chdir(tmp_path)
    code, _, err = cli_inprocess("data", "generate", "-o", "d.h5", "--material", 'law="linear_elastic", E=1e9, nu=0.3',
                                 "--min-strain", "2e-3", *extra)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error: --min-strain: found 0.002 with --strain-range"), lines[0]
    assert "allowed: a magnitude below the largest strain bound" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_a_byte_order_mark_is_read(tmp_path):
    """A case saved with a UTF-8 byte-order mark (Notepad) was 'TOML syntax error: Invalid
    statement (at line 1, column 1)', which names no fault a user can see (session 16); a
    base file of `extends` likewise."""
    from conftest import cli_inprocess

    (tmp_path / "base.toml").write_text("\ufeff" + BASE, encoding="utf-8")
    (tmp_path / "case.toml").write_text('\ufeffextends = "base.toml"\ntitle = "child"\n', encoding="utf-8")
    code, out, err = cli_inprocess("check", str(tmp_path / "case.toml"))
    assert code == 0 and "ok" in out, err


# ---------------------------------------------------------------------------- session 16 (inputs)
def _one_line(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("case,item,key,found", [
    ("cantilever", 'material.E="30e9"', "material.E", "'30e9'"),
    ("cantilever", 'fem.degree="2"', "fem.degree", "'2'"),
    ("cantilever", 'mesh.cells=["80", 8]', "mesh.cells[0]", "'80'"),
    ("cantilever", 'boundary.traction[0].force=[0.0, "-1e5"]', "boundary.traction[0].force[1]", "'-1e5'"),
    ("dda_incline", 'gravity=["0", -9.81]', "gravity[0]", "'0'"),
    ("dda_incline", 'water.level=[[0.0, "5"]]', "water.level[0][1]", "'5'"),
    ("nmm_cantilever", 'material.nu="0.25"', "material.nu", "'0.25'"),
])
def test_a_quoted_number_is_refused(case, item, key, found):
    """A quoted number is a string: pydantic's lax mode read "30e9" as 30e9 and "2" as 2 while
    "true" for a boolean was refused (session 16 new-user trial); now refused like true / false
    for a number, at any depth of an array; the unquoted value still validates. The key came from
    --set, so the message says so (session 30: it named the case file alone, as if the file held it)."""
    from conftest import cli_inprocess

    line = _one_line(*cli_inprocess("check", case, "--set", item)[::2])
    unquoted = found.strip("'")
    assert f"{case}.toml: --set {key}: found {found} (a string); allowed: a number" in line, line
    assert line.endswith(f"(write {unquoted} without quotes)"), line
    code, out, err = cli_inprocess("check", case, "--set", item.replace('"', ""))
    assert code == 0, err


def test_a_quoted_number_in_a_case_file_and_an_option_table(tmp_path, monkeypatch):
    """The same in a case file (E = "30e9") and in data generate's inline tables; ints for
    floats stay accepted (E = 30)."""
    from conftest import cli_inprocess

    (tmp_path / "case.toml").write_text(BASE.replace("E = 30e9", 'E = "30e9"'))
    line = _one_line(*cli_inprocess("check", str(tmp_path / "case.toml"))[::2])
    assert "case.toml: material.E: found '30e9' (a string); allowed: a number (write 30e9 without quotes)" in line
    (tmp_path / "case.toml").write_text(BASE.replace("E = 30e9", "E = 30"))
    assert cli_inprocess("check", str(tmp_path / "case.toml"))[0] == 0
    monkeypatch.chdir(tmp_path)
    line = _one_line(*cli_inprocess("data", "generate", "-o", "d.h5", "--material",
                                    'law="linear_elastic", E="1e9", nu=0.3')[::2])
    assert line == "error: --material: E: found '1e9' (a string); allowed: a number (write 1e9 without quotes)", line
    line = _one_line(*cli_inprocess("data", "generate", "-o", "d.h5", "--joint", 'kind="coulomb", phi=true')[::2])
    assert line == "error: --joint: phi: found true; allowed: a number (true / false are not numbers)", line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.toml"]


@pytest.mark.parametrize("value,tail", [
    ('"high"', "found 'high' (a string); allowed: a number [m], or a table [[t, level], ...] [s, m]"),
    ("true", "found true; allowed: a number [m], or a table [[t, level], ...] [s, m] (true / false are not numbers)"),
])
def test_water_level_names_both_forms(value, tail):
    """water.level is a number or a table [[t, level], ...]: the message said only 'a number'."""
    from conftest import cli_inprocess

    line = _one_line(*cli_inprocess("check", "dda_incline", "--set", f"water.level={value}")[::2])
    assert line.endswith(f"dda_incline.toml: --set water.level: {tail}"), line


@pytest.mark.parametrize("args,line", [
    (["-n", "1", "--material", 'law="linear_elastic", E=1e9, nu=0.3'],
     "error: -n: found 1; allowed: an integer 10..10000000 (train needs at least 10 samples)"),
    (["-n", "9", "--joint", 'kind="coulomb", phi=30'],
     "error: -n: found 9; allowed: an integer 10..10000000 (train needs at least 10 samples)"),
    (["--paths", "1", "--material", 'law="j2_plasticity", E=1e9, nu=0.3, yield_stress=1e6'],
     "error: --paths: found 1; allowed: an integer 2..1000000 (train needs at least 2: training and validation)"),
    (["--paths", "2", "--steps", "3", "--material", 'law="j2_plasticity", E=1e9, nu=0.3, yield_stress=1e6'],
     "error: --paths: found 2 paths x 3 steps; allowed: 10..10000000 samples in all (train needs at least 10)"),
])
def test_data_generate_refuses_a_set_train_refuses(tmp_path, monkeypatch, args, line):
    """data generate -n 1 wrote a data set that train then refused ('at least 10 samples'):
    generate refuses it with train's minimum (learning_cli.MIN_TRAINING_SAMPLES / _PATHS)."""
    from conftest import cli_inprocess
    from coupling.learning_cli import MIN_TRAINING_PATHS, MIN_TRAINING_SAMPLES

    assert (MIN_TRAINING_SAMPLES, MIN_TRAINING_PATHS) == (10, 2)  # the numbers in the lines above
    monkeypatch.chdir(tmp_path)
    assert _one_line(*cli_inprocess("data", "generate", "-o", "d.h5", *args)[::2]) == line
    assert list(tmp_path.iterdir()) == []
    code, _, err = cli_inprocess("data", "generate", "-o", "d.h5", "-n", "10", "--material",
                                 'law="linear_elastic", E=1e9, nu=0.3')
    assert code == 0, err


def test_monitor_blocks_naming_a_fixed_block_is_refused():
    """monitor.blocks = ["incline"] (the fixed block of dda_incline) was accepted and the run
    reported zeros (session 16 new-user trial): refused at check, naming the free groups."""
    from conftest import cli_inprocess

    for item, index in (('monitor.blocks=["incline"]', 0), ('monitor.blocks=["block", "incline"]', 1)):
        line = _one_line(*cli_inprocess("check", "dda_incline", "--set", item)[::2])
        assert line.endswith(f"dda_incline.toml: --set monitor.blocks[{index}]: found 'incline' (a fixed block); "
                             "allowed: a name of free blocks: block"), line


def test_monitor_blocks_of_a_mixed_name_monitor_its_free_blocks():
    """A name shared by a fixed and a free block monitors the free one (docs/cases.md)."""
    from coupling.case.loader import load_case
    from coupling.runners.dda_model import build_system, monitored_group

    case = load_case("dda_incline", {"blocks[0].name": "block"})  # the fixed incline is now 'block' too
    built = build_system(case)
    assert built.names["block"] == [0, 1] and bool(built.system.fixed[0]) and not built.system.fixed[1]
    assert monitored_group(case, built).tolist() == [1]


def test_output_link_to_a_folder_is_called_a_link(tmp_path, monkeypatch):
    """run -o LINK (a symbolic link to a folder) said "'LINK' is an existing file" (session 16)."""
    from conftest import cli_inprocess

    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    (tmp_path / "broken").symlink_to("nowhere")
    for target, what in (("link", "a symbolic link to a folder"), ("broken", "a symbolic link to nothing (broken)")):
        line = _one_line(*cli_inprocess("run", "cantilever", "-o", target, "-q")[::2])
        assert line.startswith(f"error: -o: '{target}' is {what}, not a run folder; allowed: a new folder"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "link", "real"] and not any((tmp_path / "real").iterdir())


@pytest.mark.parametrize("args,tail", [
    (["train", "{d}", "-o", "m.pt"], "{d}: a folder, not a file; allowed: an HDF5 data set"),
    (["check", "data_driven_plate", "--set", 'data={kind="discrete", dataset="{d}"}'],
     "data.dataset: data set '{d}' is a folder, not a file"),
    (["check", "cantilever", "--set", 'mesh={kind="file", path="{d}"}'], "mesh.path: mesh file '{d}' is a folder, not a file"),
    (["check", "nmm_cantilever", "--set", 'cover={kind="file", path="{d}"}'],
     "cover.path: mesh file '{d}' is a folder, not a file"),
    (["check", "cantilever", "--set", 'material={law="checkpoint", path="{d}"}'],
     "material.path: model '{d}' is a folder, not a file"),
    (["data", "import-csv", "{d}", "-o", "x.h5"], "{d}: a folder, not a file; allowed: a CSV file"),
])
def test_a_folder_given_as_an_input_file_is_called_a_folder(tmp_path, monkeypatch, args, tail):
    """A folder as a data set, mesh or checkpoint path said 'file not found' (session 16)."""
    from conftest import cli_inprocess

    monkeypatch.chdir(tmp_path)
    d = tmp_path / "input.h5"
    d.mkdir()
    line = _one_line(*cli_inprocess(*[a.replace("{d}", str(d)) for a in args])[::2])
    assert tail.replace("{d}", str(d)) in line, line
    assert [p.name for p in tmp_path.iterdir()] == ["input.h5"] and not any(d.iterdir())
