"""The modules the sandbox passes through (workflows/runner.py) must stay pure: a clock, I/O or a
`workflow.*` call there would run outside the sandbox's restrictions."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from workflows.runner import PURE

FORBIDDEN_MODULES = {"temporalio.workflow", "os", "time", "random", "uuid", "socket", "httpx"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "open"}


@pytest.mark.parametrize("module", PURE)
def test_a_passed_through_module_reads_no_clock_does_no_io_and_calls_no_workflow_api(
    module: str,
) -> None:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        f"{node.module}.{alias.name}" if node.module == "temporalio" else node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    called = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not imported & FORBIDDEN_MODULES, f"{module} imports {imported & FORBIDDEN_MODULES}"
    assert not called & FORBIDDEN_CALLS, f"{module} calls {called & FORBIDDEN_CALLS}"
