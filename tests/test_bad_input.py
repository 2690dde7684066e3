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
