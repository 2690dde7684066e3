"""Docs stay complete: every case-file key of every schema appears in docs/cases.md."""

import typing

from pydantic import BaseModel

from conftest import ROOT
from coupling.case.registry import schema_for, solver_names


def keys(model: type[BaseModel]) -> set[str]:
    out = set()
    for name, field in model.model_fields.items():
        out.add(name)
        stack = [field.annotation]
        while stack:
            a = stack.pop()
            if isinstance(a, type) and issubclass(a, BaseModel):
                out |= keys(a)
            else:
                stack += list(typing.get_args(a))
    return out


def test_every_case_key_is_documented():
    text = (ROOT / "docs" / "cases.md").read_text()
    missing = sorted(k for s in solver_names() for k in keys(schema_for(s)) 
                     if not any(p in text for p in (f"`{k}", f".{k}`", f"[{k}]", f".{k}]", f".{k}.")))
    assert not missing, f"undocumented case keys: {missing}"


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text().split("##")[0]
    assert "make run" in head and "make test" in head


def _header_commands(case_file):
    """The `deepmanifold ...` commands quoted in a case file's comment lines, joined across their
    continuation lines."""
    commands, current = [], None
    for line in case_file.read_text().splitlines():
        if not line.startswith("#"):
            break
        text = line[1:].strip()
        if text.startswith("deepmanifold "):
            current = [text]
            commands.append(current)
        elif current is not None and line.startswith("#     "):  # indented deeper than the command
            current.append(text)
        else:
            current = None
    return [" ".join(c) for c in commands]


def test_case_headers_reproduce_their_shipped_checkpoints():
    """A case header that quotes the `data generate` / `train` commands of its checkpoint quotes
    the sizes, seeds and epochs that the checkpoint's report records (learned_plasticity_plate's
    said --paths 400 and no --epochs, where the checkpoint has 80 paths and 10 epochs)."""
    import json
    import re

    checked = 0
    for case_file in sorted((ROOT / "cases").glob("*.toml")):
        cmds = _header_commands(case_file)
        data = {m.group(1): c for c in cmds if (m := re.search(r"data generate -o (\S+)", c))}
        for c in cmds:
            m = re.search(r"deepmanifold train (\S+) -o (\S+\.pt)", c)
            if not m or m.group(1) not in data:
                continue
            report = json.loads((ROOT / m.group(2)).with_suffix(".json").read_text())
            prov = report["data"]["provenance"]
            gen = data[m.group(1)]
            opt = lambda name, text: (lambda g: g and g.group(1))(re.search(rf"(?:^|\s){name} (\S+)", text))
            if opt("--paths", gen):
                assert int(opt("--paths", gen)) == prov["n_paths"], case_file.name
                assert int(opt("--steps", gen)) == prov["n_steps"], case_file.name
            if opt("-n", gen):
                assert int(opt("-n", gen)) == prov["n"], case_file.name
            assert int(opt("--seed", gen) or 0) == prov["seed"], case_file.name
            epochs = report.get("settings", {}).get("epochs", report.get("epochs_run"))
            if "--projection" not in c:
                assert int(opt("--epochs", c) or 300) == epochs, case_file.name
            checked += 1
    assert checked >= 3


def test_files_the_docs_commands_write_at_the_root_are_ignored():
    """The docs' commands run from the repository root write there: `surrogate train ... -o
    incline.pt` / `surrogate field ... -o cant_u.pt` also write incline.json / cant_u.json,
    `train data.h5 -o model.pt` model.json and model.png, `data generate -o data.h5` data.h5
    (docs/global_local.md, docs/api.md, README). git status must not list them (before session 18
    only the .pt files were ignored)."""
    import shutil
    import subprocess

    import pytest

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    names = ["incline.json", "cant_u.json", "model.json", "model.png", "data.h5", "paths.h5", "model.pt"]
    r = subprocess.run(["git", "check-ignore", "--no-index", *names], cwd=ROOT, capture_output=True, text=True)
    assert sorted(r.stdout.split()) == sorted(names), r.stdout
    tracked = subprocess.run(["git", "ls-files", "--", *(f":(top){n}" for n in ("*.json", "*.png", "*.h5"))],
                             cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert all("/" in t for t in tracked), [t for t in tracked if "/" not in t]  # nothing tracked at the root


def test_api_first_example_prints_what_its_comments_say(tmp_path):
    """docs/api.md's first example, pasted (its output folder moved to tmp_path): it runs and
    prints the numbers its comments promise (tip deflection, error, Newton iterations, the field
    file's largest deflection and cell von Mises)."""
    import re
    import subprocess
    import sys

    text = (ROOT / "docs" / "api.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert '"results/cantilever"' in code
    code = code.replace('"results/cantilever"', repr(str(tmp_path / "cantilever")))
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    value, error = map(float, lines[0].split())
    assert abs(value / -0.013416 - 1) < 1e-4 and abs(error / 3.7e-4 - 1) < 0.02, lines
    assert lines[1] == "[1]"
    assert abs(float(lines[2]) / -0.013416 - 1) < 1e-4 and abs(float(lines[3]) / 6.18e6 - 1) < 1e-3, lines
