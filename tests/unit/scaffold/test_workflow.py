"""The deploy workflow's structure: the digest flows through step outputs, never by hand."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from ruamel.yaml import YAML

from podkit import __version__, _release
from podkit.errors import ConfigError
from podkit.scaffold.workflow import REGISTRIES, render_workflow

SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _load(registry: str) -> dict[str, Any]:
    doc: dict[str, Any] = YAML(typ="safe").load(io.StringIO(render_workflow(registry)))
    return doc


def _steps(doc: dict[str, Any], job: str) -> dict[str, dict[str, Any]]:
    return {s.get("id", s.get("name")): s for s in doc["jobs"][job]["steps"]}


@pytest.mark.parametrize("registry", sorted(REGISTRIES))
def test_digest_flows_from_the_build_output_to_plan_and_apply(registry: str) -> None:
    steps = _steps(_load(registry), "deploy")
    assert steps["build"]["uses"].startswith("docker/build-push-action@")
    assert steps["release"]["env"]["DIGEST"] == "${{ steps.build.outputs.digest }}"
    for step in ("plan", "apply"):
        args = steps[step]["with"]["args"].splitlines()
        assert args[args.index("--image") + 1] == "${{ steps.release.outputs.image }}"
        assert steps[step]["with"]["set-file"] == "${{ runner.temp }}/podkit-overrides"
    assert "sha256:" not in render_workflow(registry).replace("^sha256:[0-9a-f]{64}$", "")


@pytest.mark.parametrize("registry", sorted(REGISTRIES))
def test_every_action_is_pinned_by_commit_sha(
    registry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A release build knows its commit and pins podkit's own Action by it too.
    monkeypatch.setattr(_release, "COMMIT", "0123456789abcdef0123456789abcdef01234567")
    doc = _load(registry)
    uses = [s["uses"] for job in doc["jobs"].values() for s in job["steps"] if "uses" in s]
    assert f"{_release.REPOSITORY}@{_release.COMMIT}" in uses
    for ref in uses:
        assert SHA_PIN.match(ref), ref


def test_a_source_checkout_names_podkits_action_by_its_release_tag() -> None:
    doc = _load("ghcr")
    uses = {s["uses"] for job in doc["jobs"].values() for s in job["steps"] if "uses" in s}
    ours = {ref for ref in uses if ref.startswith(f"{_release.REPOSITORY}@")}
    assert ours == {f"{_release.REPOSITORY}@v{__version__}"}
    assert all(SHA_PIN.match(ref) for ref in uses - ours)


@pytest.mark.parametrize("registry", sorted(REGISTRIES))
def test_no_expression_is_expanded_inside_a_shell_script(registry: str) -> None:
    doc = _load(registry)
    for job in doc["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step.get("name")


@pytest.mark.parametrize("registry", sorted(REGISTRIES))
def test_secrets_reach_steps_only_through_env_or_with(registry: str) -> None:
    doc = _load(registry)
    assert doc["permissions"] == {}
    for job in doc["jobs"].values():
        assert "secrets" not in str(job.get("env", {}))
        for step in job["steps"]:
            outside = {k: v for k, v in step.items() if k not in ("env", "with")}
            assert "secrets." not in str(outside), step.get("name")


def test_pushes_deploy_staging_and_releases_production() -> None:
    doc = _load("ghcr")
    triggers = doc["on"]
    assert triggers["push"]["branches"] == ["main"]
    assert triggers["release"]["types"] == ["published"]
    inputs = triggers["workflow_dispatch"]["inputs"]
    assert {"environment", "gpu_type", "datacenter", "execution_timeout"} <= set(inputs)
    expr = "github.event_name == 'release' && 'production' || inputs.environment || 'staging'"
    assert doc["env"]["PODKIT_ENV"] == "${{ " + expr + " }}"


def test_registries_differ_only_in_login_and_permissions() -> None:
    ghcr, gar, hub = (_load(r)["jobs"]["deploy"] for r in ("ghcr", "gar", "dockerhub"))
    assert "packages" in ghcr["permissions"]
    assert "id-token" in gar["permissions"]
    assert set(hub["permissions"]) == {"contents", "actions"}
    assert "google-github-actions/auth" in str(gar["steps"])
    assert "DOCKERHUB_TOKEN" in str(hub["steps"])


def test_an_unknown_registry_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        render_workflow("quay")
    assert "ghcr" in str(err.value)


def _runs_after(step: dict[str, Any], apply_outcome: str) -> bool:
    from tests.gha.expressions import condition

    ctx = {"steps": {"apply": {"outcome": apply_outcome}}}
    failed = apply_outcome == "failure"
    funcs = {
        "success": lambda: not failed,
        "failure": lambda: failed,
        "always": lambda: True,
        "cancelled": lambda: False,
    }
    return condition(step.get("if"), ctx, funcs)


def test_a_failed_apply_is_still_summarized_and_its_state_kept() -> None:
    steps = _load("ghcr")["jobs"]["deploy"]["steps"]
    summary = next(s for s in steps if s.get("id") == "summary")
    keep = next(s for s in steps if s.get("name") == "Keep the applied state")
    for step in (summary, keep):
        assert _runs_after(step, "failure")  # smoke failed, apply rolled back: show and keep it
        assert _runs_after(step, "success")
        assert not _runs_after(step, "skipped")  # nothing was applied


@pytest.mark.parametrize(
    ("event", "inputs", "deploys", "rolls_back"),
    [
        ({"event_name": "push"}, {}, True, False),
        ({"event_name": "release", "event": {"release": {"prerelease": False}}}, {}, True, False),
        ({"event_name": "release", "event": {"release": {"prerelease": True}}}, {}, False, False),
        ({"event_name": "workflow_dispatch"}, {"action": "deploy"}, True, False),
        ({"event_name": "workflow_dispatch"}, {"action": "rollback"}, False, True),
    ],
)
def test_which_job_runs(
    event: dict[str, Any], inputs: dict[str, Any], deploys: bool, rolls_back: bool
) -> None:
    from tests.gha.expressions import condition

    jobs = _load("ghcr")["jobs"]
    ctx = {"github": event, "inputs": inputs}
    funcs = {"success": lambda: True}
    assert condition(jobs["deploy"]["if"], ctx, funcs) is deploys
    assert condition(jobs["rollback"]["if"], ctx, funcs) is rolls_back


@pytest.mark.parametrize(
    ("event", "inputs", "environment"),
    [
        ({"event_name": "push"}, {}, "staging"),
        ({"event_name": "release"}, {}, "production"),
        ({"event_name": "workflow_dispatch"}, {"environment": "production"}, "production"),
        (
            {"event_name": "workflow_dispatch"},
            {"environment": "staging", "action": "rollback"},
            "staging",
        ),
    ],
)
def test_one_concurrency_group_per_environment_and_nothing_cancelled(
    event: dict[str, Any], inputs: dict[str, Any], environment: str
) -> None:
    from tests.gha.expressions import interpolate

    doc = _load("ghcr")
    group = doc["concurrency"]["group"]
    ctx = {"github": event, "inputs": inputs}
    assert interpolate(group, ctx) == f"podkit-deploy-{environment}"
    assert interpolate(doc["env"]["PODKIT_ENV"], ctx) == environment
    assert doc["concurrency"]["cancel-in-progress"] is False


@pytest.mark.parametrize(
    "uses",
    [
        "acme/podkit@0123456789abcdef0123456789abcdef01234567",
        "acme/podkit@v1.2.3",
        "acme/podkit@v1.2.3 # podkit 1.2.3",
        "acme/monorepo/actions/deploy@release/2026-12",
        "./",
        "./.github/actions/podkit",
        "docker://ghcr.io/acme/podkit:1.0",
        "docker://alpine@sha256:" + "a" * 64,
    ],
)
def test_a_valid_uses_reference_is_written_as_given(uses: str) -> None:
    assert f"uses: {uses}\n" in render_workflow(action=uses)


@pytest.mark.parametrize(
    "bad",
    [
        "bad action",
        "acme/podkit",
        "podkit@v1",
        "acme/podkit@",
        "@v1",
        "acme//podkit@v1",
        "acme/podkit@v1#pinned",
        "acme/podkit@v1\n  run: curl evil",
        "acme/../x@v1",
        "../x",
        "./../x",
        "docker://",
        "docker://alpine latest",
        "https://github.com/acme/podkit@v1",
        "",
    ],
)
def test_an_action_that_is_no_uses_reference_is_refused(bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        render_workflow(action=bad)
    assert str(err.value.message).startswith(f"--action {bad!r} is not a GitHub Actions")
    assert "OWNER/REPO[/PATH]@REF (e.g. --action acme/podkit@" in (err.value.hint or "")
