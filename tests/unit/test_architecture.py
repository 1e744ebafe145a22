"""The layout rules of docs/architecture.md, checked on the source: what may import what.

Imports are read statically (every `import` in a module, including those inside functions, except
under `if __name__ == "__main__":`), so a rule cannot be dodged by importing late.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from receptionist.paths import REPO_ROOT

PACKAGES = ("receptionist", "tools")


def module_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            files[name] = path
    files["agent"] = REPO_ROOT / "agent.py"
    return files


FILES = module_files()


def _is_main_guard(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


def _walk(node: ast.AST):
    for child in ast.iter_child_nodes(node):
        if _is_main_guard(child):
            continue
        yield child
        yield from _walk(child)


@cache
def imports_of(module: str) -> frozenset[str]:
    """Every module `module` imports (names as written, plus `package.name` for from-imports)."""
    tree = ast.parse(FILES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(found)


def ours(name: str) -> str | None:
    """The module of ours that an imported name refers to (the longest known prefix)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in FILES:
            return candidate
    return None


def closure(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for name in imports_of(module):
            found = ours(name)
            if found is not None:
                todo.append(found)
                # importing `a.b.c` runs the packages `a` and `a.b` too
                parts = found.split(".")
                todo += [
                    ".".join(parts[:i])
                    for i in range(1, len(parts))
                    if ".".join(parts[:i]) in FILES
                ]
    return seen


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_what_a_call_loads_never_includes_operator_tooling():
    loaded = closure("agent")
    assert "receptionist.call.session" in loaded and "tools.booking" in loaded
    for package in ("receptionist.ops", "receptionist.web", "receptionist.notify"):
        assert sorted(m for m in loaded if in_package(m, package)) == []


LIVEKIT_FREE = (
    "receptionist.domain",
    "receptionist.appointments",
    "receptionist.reminders",
    "receptionist.store",
    "receptionist.telemetry",
)


def test_the_domain_the_appointments_the_reminders_the_store_and_telemetry_skip_livekit():
    for module in FILES:
        if any(in_package(module, package) for package in LIVEKIT_FREE):
            livekit = sorted(n for n in imports_of(module) if in_package(n, "livekit"))
            assert livekit == [], f"{module} imports {livekit}"


def test_the_receptionist_package_never_imports_the_tools_package():
    for module in FILES:
        if in_package(module, "receptionist"):
            names = sorted(n for n in imports_of(module) if in_package(n, "tools"))
            assert names == [], f"{module} imports {names}"


def test_lower_layers_never_import_higher_ones():
    """domain/store -> appointments -> reminders -> call, web -> ops: a layer never reaches up
    (telemetry sits on the store, below call)."""
    above = {
        "receptionist.domain": (
            "receptionist.call",
            "receptionist.ops",
            "receptionist.appointments",
            "receptionist.reminders",
            "receptionist.telemetry",
        ),
        "receptionist.appointments": (
            "receptionist.call",
            "receptionist.web",
            "receptionist.ops",
            "receptionist.notify",
            "receptionist.reminders",
            "receptionist.telemetry",
        ),
        "receptionist.reminders": (
            "receptionist.call",
            "receptionist.web",
            "receptionist.ops",
            "receptionist.notify",
            "receptionist.telemetry",
        ),
        "receptionist.store": (
            "receptionist.call",
            "receptionist.ops",
            "receptionist.domain",
            "receptionist.appointments",
            "receptionist.reminders",
            "receptionist.telemetry",
        ),
        "receptionist.call": ("receptionist.ops",),
        # The operator's metrics read the book and nothing of a call, the staff app or ops.
        "receptionist.telemetry": (
            "receptionist.call",
            "receptionist.web",
            "receptionist.ops",
            "receptionist.notify",
            "receptionist.domain",
            "receptionist.appointments",
            "receptionist.reminders",
        ),
    }
    for module in FILES:
        for layer, forbidden in above.items():
            if not in_package(module, layer):
                continue
            bad = sorted(n for n in imports_of(module) if any(in_package(n, f) for f in forbidden))
            assert bad == [], f"{module} imports {bad}"


def test_the_installed_package_carries_no_test_rig():
    for module in FILES:
        names = sorted(n for n in imports_of(module) if in_package(n, "tests"))
        assert names == [], f"{module} imports {names}"
