"""The GitHub Actions deploy workflow, rendered for one container registry.

One template (`templates/workflow/deploy.yml`) serves every registry; only the login steps,
the job's permissions and how the image repository is named differ. The digest is never part
of the template: it flows from the build step's output at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from podkit.config.problems import clip_key
from podkit.errors import ConfigError
from podkit.redact import REDACTOR
from podkit.scaffold.source import release_action
from podkit.secret_shapes import has_url_credentials, looks_like_token

_TEMPLATE = "templates/workflow/deploy.yml"


@dataclass(frozen=True)
class Registry:
    """How the workflow logs in to one container registry and names the image there."""

    key: str
    title: str
    permissions: tuple[str, ...]
    image_env: tuple[tuple[str, str], ...]
    image_script: str
    login_steps: str
    secrets_note: str


_LOGIN = "docker/login-action@74a5d142397b4f367a81961eba4e8cd7edddf772 # v3.4.0"

GHCR = Registry(
    key="ghcr",
    title="GitHub Container Registry",
    permissions=("packages: write # push the worker image",),
    image_env=(),
    # GHCR wants lower-case repository names; GitHub's may have capitals.
    image_script='repository="ghcr.io/${GITHUB_REPOSITORY,,}"',
    login_steps=f"""\
- name: Log in to GitHub Container Registry
  uses: {_LOGIN}
  with:
    registry: ghcr.io
    username: ${{{{ github.actor }}}}
    password: ${{{{ secrets.GITHUB_TOKEN }}}}""",
    secrets_note="",
)

GAR = Registry(
    key="gar",
    title="Google Artifact Registry",
    permissions=("id-token: write # keyless login to Google Cloud (OIDC)",),
    image_env=(
        ("GAR_LOCATION", "${{ vars.GAR_LOCATION }}"),
        ("GCP_PROJECT", "${{ vars.GCP_PROJECT }}"),
        ("GAR_REPOSITORY", "${{ vars.GAR_REPOSITORY }}"),
    ),
    image_script=(
        'name="${GITHUB_REPOSITORY#*/}"\n'
        'repository="${GAR_LOCATION}-docker.pkg.dev/${GCP_PROJECT}/${GAR_REPOSITORY}/${name,,}"'
    ),
    login_steps=f"""\
- name: Authenticate to Google Cloud
  id: gcp
  uses: google-github-actions/auth@ba79af03959ebeac9769e648f473a284504d9193 # v2.1.10
  with:
    workload_identity_provider: ${{{{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}}}
    service_account: ${{{{ vars.GCP_SERVICE_ACCOUNT }}}}
    token_format: access_token

- name: Log in to Google Artifact Registry
  uses: {_LOGIN}
  with:
    registry: ${{{{ vars.GAR_LOCATION }}}}-docker.pkg.dev
    username: oauth2accesstoken
    password: ${{{{ steps.gcp.outputs.access_token }}}}""",
    secrets_note=(
        "; variables GAR_LOCATION, GCP_PROJECT, GAR_REPOSITORY,\n"
        "# GCP_WORKLOAD_IDENTITY_PROVIDER and GCP_SERVICE_ACCOUNT (keyless, through OIDC)"
    ),
)

DOCKERHUB = Registry(
    key="dockerhub",
    title="Docker Hub",
    permissions=(),
    image_env=(("DOCKERHUB_USERNAME", "${{ vars.DOCKERHUB_USERNAME }}"),),
    image_script=(
        'name="${GITHUB_REPOSITORY#*/}"\nrepository="docker.io/${DOCKERHUB_USERNAME}/${name,,}"'
    ),
    login_steps=f"""\
- name: Log in to Docker Hub
  uses: {_LOGIN}
  with:
    username: ${{{{ vars.DOCKERHUB_USERNAME }}}}
    password: ${{{{ secrets.DOCKERHUB_TOKEN }}}}""",
    secrets_note="; DOCKERHUB_TOKEN, and the variable\n# DOCKERHUB_USERNAME",
)

REGISTRIES: dict[str, Registry] = {r.key: r for r in (GHCR, GAR, DOCKERHUB)}


def registry(key: str) -> Registry:
    """The registry named `key` (ghcr, gar, dockerhub)."""
    try:
        return REGISTRIES[key]
    except KeyError:
        known = ", ".join(REGISTRIES)
        raise ConfigError(
            f"unknown container registry {key!r}", hint=f"use one of: {known}"
        ) from None


_NAME = r"[A-Za-z0-9_.\-]+"
_USES = re.compile(
    rf"^(?:[A-Za-z0-9][A-Za-z0-9\-]{{0,38}}/{_NAME}(?:/{_NAME})*@[A-Za-z0-9_.\-/]+"
    rf"|\./(?:{_NAME}(?:/{_NAME})*)?"
    rf"|docker://[A-Za-z0-9_.\-/:@]+)(?: +#[^\r\n]*)?\Z"
)
ACTION_EXAMPLE = "acme/podkit@0123456789abcdef0123456789abcdef01234567"


def check_action(value: str | None) -> str | None:
    """A GitHub Actions `uses:` reference (OWNER/REPO[/PATH]@REF, ./PATH or docker://IMAGE,
    maybe followed by a ` # comment`) given as `--action`, or ConfigError naming the option."""
    parts = value.split(" ")[0].split("/") if value is not None else []
    if value is None or (_USES.match(value) and ".." not in parts and "." not in parts[1:]):
        return check_no_secret("--action", value) if value is not None else None
    raise ConfigError(
        f"--action {clip_key(value)!r} is not a GitHub Actions `uses:` reference",
        hint=f"write OWNER/REPO[/PATH]@REF (e.g. --action {ACTION_EXAMPLE}), ./PATH or "
        "docker://IMAGE",
    )


def render_workflow(registry_key: str = "ghcr", *, action: str | None = None) -> str:
    """The deploy workflow for `registry_key`, ready to write to `.github/workflows/`.

    `action` is the `uses:` value of podkit's Action (default: this release's).
    """
    reg = registry(registry_key)
    text = resources.files("podkit.scaffold").joinpath(_TEMPLATE).read_text(encoding="utf-8")
    blocks = {
        "PERMISSIONS": _indent("\n".join(reg.permissions), 6),
        "IMAGE_ENV": _image_env(reg),
        "IMAGE_SCRIPT": _indent(reg.image_script, 10),
        "LOGIN_STEPS": _indent(reg.login_steps, 6),
    }
    for name, block in blocks.items():
        text = text.replace(f"@@{name}@@\n", f"{block}\n" if block else "")
    words = {"SECRETS_NOTE": reg.secrets_note, "REGISTRY_TITLE": reg.title}
    words["ACTION"] = check_action(action) or release_action()
    return fill(text, words)


_PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")


def fill(template: str, words: dict[str, str]) -> str:
    """`template` with each `@@NAME@@` replaced by `words[NAME]`, in one pass: a value that
    holds `@@...@@` itself is written as given, never filled again."""

    def one(m: re.Match[str]) -> str:
        try:
            return words[m.group(1)]
        except KeyError:
            raise AssertionError(f"no value for the placeholder {m.group(0)}") from None

    return _PLACEHOLDER.sub(one, template)


# pip expands `${NAME}` in a requirements file from the environment: a reference, no secret.
_ENV_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def check_no_secret(option: str, value: str) -> str:
    """`value`, unless it holds a secret (a value of the environment podkit treats as one, a
    token, a password in a URL): it would be written into files that get committed."""
    bare = _ENV_REFERENCE.sub("", value)
    known = any(secret in value for secret in REDACTOR.known())
    if known or looks_like_token(bare) or has_url_credentials(bare):
        hint = (
            "write ${NAME} where the token goes: pip reads it from the environment when it "
            "installs (CI passes it as a secret)"
            if option == "--podkit-spec"
            else "leave the secret out of it"
        )
        raise ConfigError(
            f"{option} holds a secret (a token or a password), and init would write it into "
            "files that are meant to be committed",
            hint=hint,
        )
    return value


def _image_env(reg: Registry) -> str:
    if not reg.image_env:
        return ""
    lines = ["env:", *(f"  {name}: {value}" for name, value in reg.image_env)]
    return _indent("\n".join(lines), 8)


def _indent(block: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else "" for line in block.splitlines())


if __name__ == "__main__":
    import sys

    sys.stdout.write(render_workflow(sys.argv[1] if len(sys.argv) > 1 else "ghcr"))
