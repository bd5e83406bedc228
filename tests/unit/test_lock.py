"""requirements.lock (written by `make lock`) covers every range and pin of pyproject.toml."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _check_lock() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_lock", ROOT / "scripts" / "check_lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lock_satisfies_pyproject() -> None:
    check = _check_lock()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert check.problems(pyproject, lock) == [], "requirements.lock is stale: run `make lock`"


def test_a_stale_lock_names_what_is_missing_and_out_of_range() -> None:
    check = _check_lock()
    pyproject = '[project]\ndependencies = ["httpx>=0.28,<0.29"]\n'
    pyproject += '[project.optional-dependencies]\ndev = ["pycurl==7.45.7"]\n'
    lock = "httpx==0.29.0 \\\n    --hash=sha256:00\n"
    assert check.problems(pyproject, lock) == [
        "httpx==0.29.0 is outside httpx<0.29,>=0.28",
        "pycurl is not in the lock",
    ]


def test_every_range_of_what_users_install_has_an_upper_bound() -> None:
    check = _check_lock()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    import tomllib

    project = tomllib.loads(pyproject)["project"]
    shipped = project["dependencies"] + project["optional-dependencies"]["worker"]
    for line in shipped:
        spec = check.Requirement(line).specifier
        assert any(s.operator == "<" for s in spec), f"{line}: add a tested upper bound"
        assert not any(s.operator == "==" for s in spec), f"{line}: a range, not a pin"
