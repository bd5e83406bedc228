"""Optional test dependencies: skip locally when one is missing, fail under CI=true.

`require("runpod")` imports and returns the module. Without it, a developer's run skips the
test and says how to install it; a CI run (CI=true, which `.ci/run` sets) fails it with the same
words, because a green CI that skipped a test proves nothing about it.

tests/conftest.py also routes every `pytest.importorskip` through `require` for the session,
so a test that still calls importorskip cannot skip silently under CI either.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

EVERYTHING = "make .venv/.installed-stamp (pip install -e '.[worker,emulator,dev]')"
# Top-level import name -> the install step that provides it.
INSTALL_STEPS = {
    "podkit": "a full podkit checkout (the module is part of podkit's own source)",
    "runpod": "pip install -e '.[worker]'",
    "google": "pip install -e '.[worker,dev]'",
    "google_crc32c": "pip install -e '.[worker]'",
    "starlette": "pip install -e '.[emulator]'",
    "uvicorn": "pip install -e '.[emulator]'",
    "jsonschema": "pip install -e '.[emulator]'",
    "botocore": "pip install -e '.[dev]' (moto[server] brings boto3/botocore)",
    "boto3": "pip install -e '.[dev]' (moto[server] brings boto3/botocore)",
    "moto": "pip install -e '.[dev]'",
    "hypothesis": "pip install -e '.[dev]'",
}


def in_ci() -> bool:
    """True on CI (the CI environment variable is `true`, as `.ci/run` sets it)."""
    return os.environ.get("CI", "").strip().lower() == "true"


def install_step(module: str) -> str:
    """How to get `module`: the extra that provides it, else the whole dev install."""
    return INSTALL_STEPS.get(module.split(".", 1)[0], EVERYTHING)


def missing(module: str, why: str) -> str:
    return f"{why}; install it with: {install_step(module)}"


def require(module: str, reason: str | None = None) -> ModuleType:
    """Import `module`; when that fails, skip (locally) or fail (CI=true), naming the fix."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        why = reason or f"needs {module} ({type(exc).__name__}: {exc})"
        message = missing(module, why)
        if in_ci():
            pytest.fail(f"missing test dependency under CI: {message}", pytrace=False)
        pytest.skip(message, allow_module_level=True)
    raise AssertionError("unreachable")  # pragma: no cover


def importorskip(
    modname: str, minversion: str | None = None, reason: str | None = None
) -> ModuleType:
    """`pytest.importorskip` with podkit's rule: a skip locally, a failure under CI=true."""
    module = require(modname, reason)
    if minversion is not None:  # the version check (and its skip) stays pytest's
        return ORIGINAL_IMPORTORSKIP(modname, minversion, reason)
    return module


ORIGINAL_IMPORTORSKIP = pytest.importorskip
