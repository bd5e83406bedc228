"""One version source: `__version__`, which the build reads and the changelog must name."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from podkit import __version__

ROOT = Path(__file__).resolve().parents[2]


def test_the_build_reads_the_version_from_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "src/podkit/__init__.py"
    assert metadata.version("podkit") == __version__


def test_the_changelog_has_a_section_for_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"\n## {__version__} " in changelog
