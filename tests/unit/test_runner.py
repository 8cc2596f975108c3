"""The workflow package runs passed through the sandbox (workflows/runner.py), so what the
sandbox would catch at run time is refused here, by reading the code: no clock but
`workflow.now()`, no randomness, no I/O, no `global`, no mutable module state."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import workflows

MODULES = sorted(Path(workflows.__file__).parent.glob("*.py"))
FORBIDDEN_IMPORTS = {
    "os", "time", "random", "uuid", "secrets", "socket", "threading", "subprocess", "pathlib",
    "httpx", "sqlalchemy", "sqlmodel", "logging",
}  # fmt: skip
CLOCKS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}
MUTABLE = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "").split(".")[0]]
        else:
            names = []
        found += [f"imports {n}" for n in names if n in FORBIDDEN_IMPORTS]
        if isinstance(node, ast.Global):
            found.append(f"global {', '.join(node.names)}")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "open":
                found.append("calls open()")
            if isinstance(func, ast.Attribute) and func.attr in CLOCKS:
                owner = func.value
                if not (isinstance(owner, ast.Name) and owner.id == "workflow"):
                    found.append(f"reads a clock: .{func.attr}()")
    for statement in tree.body:  # module level: constants in capitals only
        targets: list[ast.expr] = []
        value = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign):
            targets, value = [statement.target], statement.value
        for target in targets:
            name = getattr(target, "id", "")
            if isinstance(value, MUTABLE) and not name.isupper():
                found.append(f"mutable module state: {name}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_a_workflow_module_reads_no_clock_does_no_io_and_keeps_no_state(path: Path) -> None:
    assert _problems(path) == []


def test_the_check_finds_what_the_sandbox_would(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import random\nfrom datetime import datetime\nseen = []\n"
        "def f():\n    global seen\n    return datetime.now(), open('x')\n"
    )

    assert sorted(_problems(bad)) == [
        "calls open()",
        "global seen",
        "imports random",
        "mutable module state: seen",
        "reads a clock: .now()",
    ]
