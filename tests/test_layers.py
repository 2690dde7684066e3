"""The layering rule, checked on every module's imports (module level and inside functions).

learned/ imports nothing of ours; dda/ and nmm/ import only learned/ (and themselves); the
continuum solver packages in coupling/solvers/ import only learned/ and the solver layer,
and the FEM solver does not import the data-driven one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("learned", "dda", "nmm", "coupling")


def imported_modules(path: Path) -> list[str]:
    """Absolute names of every module a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.append(".".join(base + ([node.module] if node.module else [])))
            else:
                names.append(node.module or "")
    return names


def allowed(module: str, name: str) -> bool:
    """Whether ``module`` (dotted) may import ``name`` (dotted) under the layering rule."""
    top = name.split(".")[0]
    if top not in OURS:
        return True  # third-party or standard library
    if module.startswith("learned"):
        return top == "learned"
    if module.startswith(("dda", "nmm")):
        return top in ("learned", module.split(".")[0])
    if module.startswith("coupling.solvers.fem"):
        return top == "learned" or name.startswith("coupling.solvers.fem")
    if module.startswith("coupling.solvers"):
        return top == "learned" or name.startswith("coupling.solvers")
    return True  # the application layer may import anything below it


def _modules(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("learned", "dda", "nmm", "coupling/solvers"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_module_imports_only_lower_layers(path: Path) -> None:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    bad = [name for name in imported_modules(path) if not allowed(module, name)]
    assert not bad, f"{module} imports {bad} across the layering rule"


def test_the_rule_rejects_an_upward_import() -> None:
    """The checker itself can fail: upward and sideways imports are refused."""
    assert not allowed("learned.law", "coupling.errors")
    assert not allowed("dda.simulation", "nmm.model")
    assert not allowed("nmm.solve", "coupling.case.nmm")
    assert not allowed("coupling.solvers.fem.mesh", "coupling.errors")
    assert not allowed("coupling.solvers.fem.problem", "coupling.solvers.datadriven.solver")
    assert not allowed("coupling.solvers.datadriven.solver", "coupling.case.common")
    assert allowed("coupling.solvers.datadriven.solver", "coupling.solvers.fem.discretisation")
    assert allowed("coupling.runners.fem", "coupling.solvers.fem.problem")


def test_a_solver_package_loads_without_the_case_machinery():
    """Importing the FEM and data-driven solvers loads no case schema, runner or run folder."""
    import subprocess
    import sys

    code = ("import sys, coupling.solvers.fem.problem, coupling.solvers.datadriven; "
            "bad = [m for m in sys.modules if m.startswith(('coupling.case', 'coupling.runner', 'coupling.output', "
            "'coupling.cli', 'pydantic'))]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
