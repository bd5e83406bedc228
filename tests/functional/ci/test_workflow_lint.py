"""Every workflow podkit ships passes actionlint, zizmor and the workflow JSON schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.scaffold.workflow import REGISTRIES, render_workflow
from tests.functional.ci.workflow_lint import assert_clean

ROOT = Path(__file__).resolve().parents[3]


def shipped_workflows() -> list[Path]:
    """The workflow files in the repository: examples and the project's own."""
    found = sorted(ROOT.glob("examples/**/*.yml")) + sorted(ROOT.glob(".github/workflows/*.yml"))
    return [p for p in found if "jobs:" in p.read_text(encoding="utf-8")]


def test_the_example_is_the_rendered_ghcr_workflow() -> None:
    example = ROOT / "examples" / "github-actions" / "deploy.yml"
    assert example.read_text(encoding="utf-8") == render_workflow("ghcr"), (
        "examples/github-actions/deploy.yml is stale: regenerate it with "
        "`python -m podkit.scaffold.workflow > examples/github-actions/deploy.yml`"
    )


@pytest.mark.parametrize("path", shipped_workflows(), ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_workflow_has_no_findings(path: Path) -> None:
    assert_clean(path)


@pytest.mark.parametrize("registry", sorted(set(REGISTRIES) - {"ghcr"}))
def test_rendered_workflow_has_no_findings(registry: str, tmp_path: Path) -> None:
    path = tmp_path / ".github" / "workflows" / "deploy.yml"
    path.parent.mkdir(parents=True)
    path.write_text(render_workflow(registry), encoding="utf-8")
    assert_clean(path)


BAD_WORKFLOW = """\
name: bad
on:
  workflow_dispatch:
    inputs:
      gpu: {type: string}
jobs:
  deploy:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: podkit apply --gpu-type "${{ inputs.gpu }}" --image ghcr.io/x/y@sha256:abc
"""


def test_the_linters_catch_an_unpinned_action_and_template_injection(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(BAD_WORKFLOW, encoding="utf-8")
    with pytest.raises(AssertionError) as err:
        assert_clean(path)
    assert "zizmor" in str(err.value) or "actionlint" in str(err.value)
