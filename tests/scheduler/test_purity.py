import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_scheduler_loads_no_web_framework():
    code = (
        "import sys, scheduler, scheduler.solve, scheduler.cpsat.model\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'app')]\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""


def test_importing_scheduler_and_checking_a_plan_loads_no_ortools():
    # OR-Tools (and the pandas it pulls in) takes seconds to import; only solving needs it.
    code = (
        "import sys, scheduler, scheduler.solve, scheduler.check, scheduler.__main__\n"
        "from scheduler_instances import problem_dict, request, step\n"
        "from scheduler import first_come_first_served, problem_from_dict, result_to_dict\n"
        "from scheduler.check import check\n"
        "data = problem_dict([{'id': 'a'}], [request('r', step(5, 'a'))])\n"
        "result = result_to_dict(first_come_first_served(problem_from_dict(data)))\n"
        "assert check(data, result) == []\n"
        "print(','.join(m for m in sys.modules if m.split('.')[0] in ('ortools', 'pandas')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests" / "scheduler")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == ""


def test_no_ortools_type_leaves_the_result():
    import dataclasses

    from scheduler_instances import problem_dict, request, step

    from scheduler import problem_from_dict, solve

    result = solve(problem_from_dict(problem_dict([{"id": "a"}], [request("r", step(5, "a"))])))
    values = [getattr(result, f.name) for f in dataclasses.fields(result)]
    values += [v for a in result.assignments for v in dataclasses.astuple(a)]
    assert not any(type(v).__module__.startswith("ortools") for v in values)


def test_only_scheduler_cpsat_imports_ortools():
    import ast

    package = ROOT / "scheduler"
    importers = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(name.split(".")[0] == "ortools" for name in names):
                importers.append(path.relative_to(package).as_posix())
    assert importers, "the scan found no OR-Tools import at all"
    assert [p for p in importers if not p.startswith("cpsat/")] == []
