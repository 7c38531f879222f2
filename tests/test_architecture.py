"""The house's rules, checked on the source: no import circle among the product's modules,
no product module over 500 lines, nothing in the product importing the benchmarks, and
every Celery task still registered under the name it had before the rooms move (issue 15).

The import graph is read with ``ast`` from every module under ``attendance/`` and
``faces/`` (migrations aside): imports at module level AND inside functions, because an
import inside a function hides a circle without removing it.
"""
import ast
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("attendance", "faces")

#: Longest a product module may be (issue 15's target), in lines.
MAX_MODULE_LINES = 500

#: Modules allowed over MAX_MODULE_LINES: none (attendance/models.py became a package).
OVER_LENGTH_EXCEPTIONS: set[str] = set()

#: The four tasks of attendance/tasks.py before the rooms move, as queued messages and the
#: beat schedule (settings.CELERY_BEAT_SCHEDULE) name them. A new task adds its name here.
PINNED_TASK_NAMES = {
    "attendance.tasks.encode_enrolment_photo_task",
    "attendance.tasks.process_class_photo_task",
    "attendance.tasks.requeue_stalled_task",
    "attendance.tasks.delete_expired_class_photos_task",
}


def product_files() -> list[Path]:
    """Every product module: .py files under attendance/ and faces/, migrations excluded."""
    files = []
    for package in PACKAGES:
        files += [p for p in sorted((REPO / package).rglob("*.py")) if "migrations" not in p.parts]
    return files


def module_name(path: Path, root: Path = REPO) -> str:
    """attendance/registers/sessions.py -> attendance.registers.sessions (a package: its
    __init__), relative to ``root`` (the checkout)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, known: set[str], root: Path = REPO) -> set[str]:
    """The product modules ``path`` imports, anywhere in the file (module level, functions,
    methods). ``from package import name`` counts as importing ``package.name`` when that is
    a module, else ``package``; relative imports are resolved against the file's package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            # The deepest product module the dotted name points into.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != here:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """{module: the product modules it imports} for every product module."""
    files = product_files()
    known = {module_name(p) for p in files}
    return {module_name(p): imported_modules(p, known) for p in files}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (or a module importing
    itself), each as one circle through it: [a, b, ..., a]. Tarjan's algorithm."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(set(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_circle_in(component, graph) for component in components]


def _circle_in(component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """One concrete circle through the component's first module (breadth-first back to it)."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & component):
            if target == start:
                return paths[node] + [start]
            if target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    return sorted(component)


def test_the_cycle_finder_names_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_imports_at_every_level(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def later():\n    from . import a\n    import pkg.c\n")
    (package / "c.py").write_text("")
    known = {"pkg", "pkg.a", "pkg.b", "pkg.c"}
    assert imported_modules(package / "a.py", known, root=tmp_path) == {"pkg.b"}
    assert imported_modules(package / "b.py", known, root=tmp_path) == {"pkg.a", "pkg.c"}
    assert find_cycles({"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a", "pkg.c"}, "pkg.c": set()}) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_no_import_circle_among_product_modules():
    cycles = find_cycles(import_graph())
    assert not cycles, "import circles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_no_product_module_is_over_500_lines():
    too_long = {}
    for path in product_files():
        lines = len(path.read_text().splitlines())
        relative = path.relative_to(REPO).as_posix()
        if lines > MAX_MODULE_LINES and relative not in OVER_LENGTH_EXCEPTIONS:
            too_long[relative] = lines
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


def test_the_product_imports_nothing_from_the_benchmarks():
    graph = import_graph()
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if not module.startswith("attendance.benchmarks")
        and not module.startswith("attendance.management.commands.benchmark_")
        for target in targets if target.startswith("attendance.benchmarks")
    )
    assert not offenders, offenders


def test_every_celery_task_keeps_its_name_from_before_the_move(db):
    # db: a worker at start runs the system checks, which read the stored descriptors' model ids.
    from attendance.wiring.celery import app as celery_app

    celery_app.loader.import_default_modules()  # what a worker imports at start
    ours = {name for name in celery_app.tasks if name.startswith("attendance.")}
    assert ours == PINNED_TASK_NAMES
