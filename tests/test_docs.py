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
