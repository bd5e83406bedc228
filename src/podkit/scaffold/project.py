"""`podkit init`: the files of a new worker project, rendered and written safely.

Rendering is pure (`render_project` -> {relative path: text}); writing (`writer.py`) checks
every target first and refuses to overwrite anything unless asked, so a refused run writes
nothing. What the user gives (the podkit requirement, the Action, the handler's file name) is
checked before it reaches a file: one line, no secret, nothing that breaks the file around it.
"""

from __future__ import annotations

import ast
import re
import stat
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from podkit.config.problems import clip_key
from podkit.errors import ConfigError
from podkit.scaffold.source import installed_action, installed_requirement
from podkit.scaffold.workflow import check_no_secret, fill, registry, render_workflow
from podkit.scaffold.writer import write_project

__all__ = [
    "KINDS",
    "ProjectSpec",
    "explicit_name",
    "find_handler",
    "handlers_below",
    "project_name",
    "render_project",
    "requirement_with_extra",
    "write_project",
]

WORKFLOW_PATH = ".github/workflows/deploy.yml"
# Template file (under templates/project/) -> where it goes in the new project.
PROJECT_FILES: dict[str, str] = {
    "handler.py.tmpl": "handler.py",
    "Dockerfile.tmpl": "Dockerfile",
    "podkit.toml.tmpl": "podkit.toml",
    "README.md.tmpl": "README.md",
    "Makefile.tmpl": "Makefile",
    "demo.py.tmpl": "demo.py",
    "requirements.txt.tmpl": "requirements.txt",
    "requirements-dev.txt.tmpl": "requirements-dev.txt",
    "tests/test_handler.py.tmpl": "tests/test_handler.py",
    "tests/test_local_runpod.py.tmpl": "tests/test_local_runpod.py",
    "gitignore.tmpl": ".gitignore",
    "dockerignore.tmpl": ".dockerignore",
}
# `podkit init --type load_balancer`: a FastAPI worker (templates/load_balancer/).
LOAD_BALANCER_FILES: dict[str, str] = {
    "app.py.tmpl": "app.py",
    "Dockerfile.tmpl": "Dockerfile",
    "podkit.toml.tmpl": "podkit.toml",
    "README.md.tmpl": "README.md",
    "Makefile.tmpl": "Makefile",
    "requirements.txt.tmpl": "requirements.txt",
    "requirements-dev.txt.tmpl": "requirements-dev.txt",
    "tests/conftest.py.tmpl": "tests/conftest.py",
    "tests/test_app.py.tmpl": "tests/test_app.py",
    "tests/test_local_runpod.py.tmpl": "tests/test_local_runpod.py",
    "gitignore.tmpl": ".gitignore",
    "dockerignore.tmpl": ".dockerignore",
}
KINDS = {
    "queue": ("project", PROJECT_FILES),
    "load_balancer": ("load_balancer", LOAD_BALANCER_FILES),
}
# `podkit init` next to a handler of the user's own: these replace the files above that
# assume podkit's action model (handler.py itself is never written).
ADOPT_FILES: dict[str, str] = {
    "Dockerfile.tmpl": "Dockerfile",
    "podkit.toml.tmpl": "podkit.toml",
    "README.md.tmpl": "README.md",
    "demo.py.tmpl": "demo.py",
    "tests/test_handler.py.tmpl": "tests/test_handler.py",
    "tests/test_local_runpod.py.tmpl": "tests/test_local_runpod.py",
}
SDK_START = re.compile(r"runpod\s*\.\s*serverless\s*\.\s*start\s*\(")
_NAME_OK = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

REGISTRY_SETUP = {
    "ghcr": "; the image goes to GHCR with the workflow's own token",
    "gar": (
        ", and the repository variables `GAR_LOCATION`, `GCP_PROJECT`, `GAR_REPOSITORY`, "
        "`GCP_WORKLOAD_IDENTITY_PROVIDER` and `GCP_SERVICE_ACCOUNT` (keyless login through OIDC)"
    ),
    "dockerhub": ", the secret `DOCKERHUB_TOKEN` and the variable `DOCKERHUB_USERNAME`",
}
IMAGE_REPOSITORY = {
    "ghcr": "ghcr.io/OWNER/{name}",
    "gar": "LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/{name}",
    "dockerhub": "docker.io/USERNAME/{name}",
}


@dataclass(frozen=True)
class ProjectSpec:
    """What to scaffold: the project name, the registry, and where podkit comes from
    (default: wherever the podkit running now was installed from)."""

    name: str
    registry: str = "ghcr"
    pip_spec: str | None = None
    action: str | None = None
    handler: str | None = None  # an existing SDK handler (relative path) to adopt
    kind: str = "queue"  # or "load_balancer"
    # The project keeps a requirements.txt of its own, without podkit's worker in it: the
    # tests' requirements bring the worker (and the runpod SDK) themselves.
    own_requirements: bool = False


def project_name(raw: str) -> str:
    """A valid podkit project name from a directory name ('My_Worker' -> 'my-worker',
    'Wörker' -> 'worker': accents dropped rather than the letters that carry them)."""
    ascii_text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9-]+", "-", ascii_text.lower()).strip("-")[:40].strip("-")
    if not _NAME_OK.match(name):
        raise ConfigError(
            f"cannot make a project name from {raw!r}",
            hint="pass --name with lowercase letters, digits and '-' (at most 40 characters)",
        )
    return name


def explicit_name(raw: str) -> str:
    """`--name` as given: the rule of podkit.toml's `project`, never silently changed."""
    if _NAME_OK.match(raw):
        return raw
    try:
        suggestion = f", e.g. --name {project_name(raw)}"
    except ConfigError:
        suggestion = ""
    raise ConfigError(
        f"--name {clip_key(raw)!r} is not a valid project name; use lowercase letters, digits "
        f"and '-' (at most 40, starting with a letter or digit){suggestion}",
        hint="the name goes into every object podkit creates, so podkit does not change it",
    )


def render_project(spec: ProjectSpec) -> dict[str, str]:
    """Every file of the new project, by relative path."""
    reg = registry(spec.registry)
    pip_spec = check_no_secret("--podkit-spec", spec.pip_spec or installed_requirement())
    handler = _check_handler_name(spec.handler or "handler.py")
    words = {
        "PROJECT": spec.name,
        "IMAGE_REPOSITORY": IMAGE_REPOSITORY[reg.key].format(name=spec.name),
        "REGISTRY_TITLE": reg.title,
        "REGISTRY_SETUP": REGISTRY_SETUP[reg.key],
        "PODKIT_WORKER_SPEC": requirement_with_extra(pip_spec, "worker"),
        "PODKIT_DEV_SPEC": _dev_requirement(pip_spec, spec.own_requirements),
        "PODKIT_SPEC": pip_spec,
        "HANDLER": handler,
    }
    templates = resources.files("podkit.scaffold").joinpath("templates")
    folder, names = KINDS[spec.kind]
    chosen = {name: (templates.joinpath(folder, name), target) for name, target in names.items()}
    if spec.handler is not None:
        del chosen["handler.py.tmpl"]
        chosen.update({n: (templates.joinpath("adopt", n), t) for n, t in ADOPT_FILES.items()})
    files = {
        target: fill(source.read_text(encoding="utf-8"), words)
        for source, target in chosen.values()
    }
    files[WORKFLOW_PATH] = render_workflow(reg.key, action=spec.action or installed_action())
    return files


def _dev_requirement(pip_spec: str, own_requirements: bool) -> str:
    dev = requirement_with_extra(pip_spec, "emulator")
    return requirement_with_extra(dev, "worker") if own_requirements else dev


def find_handler(path: Path) -> tuple[Path, str | None]:
    """The project directory and the SDK handler in it to adopt (None: none found).

    `path` is a handler file, or a directory: its `handler.py`, else the one top-level `*.py`
    that calls `runpod.serverless.start(...)`.
    """
    mode = _mode(path)
    if mode is not None and stat.S_ISREG(mode):
        if not _starts_sdk(path):
            raise ConfigError(
                f"{path} is not a directory, nor a handler that calls runpod.serverless.start(...)",
                hint="pass a new or existing directory, or the file that starts your handler",
            )
        return path.parent, path.name
    if mode is None or not stat.S_ISDIR(mode):
        return path, None
    preferred = path / "handler.py"
    if preferred.is_file() and _starts_sdk(preferred):
        return path, preferred.name
    found = sorted(p.name for p in path.glob("*.py") if _starts_sdk(p))
    if len(found) > 1:
        raise ConfigError(
            f"{path} holds several runpod handlers: {', '.join(found)}",
            hint="pass the one to deploy: podkit init PATH/TO/handler.py",
        )
    return path, (found[0] if found else None)


def handlers_below(path: Path, limit: int = 3) -> list[str]:
    """Handlers one folder down (`src/handler.py`), which `podkit init DIR` does not adopt:
    their relative paths, at most `limit` of them."""
    found: list[str] = []
    try:
        folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return found
    for folder in folders:
        if folder.name in {"tests", "node_modules", "venv"}:
            continue
        try:
            files = sorted(folder.glob("*.py"))
        except OSError:
            continue
        found += [str(f.relative_to(path)) for f in files if f.is_file() and _starts_sdk(f)]
        if len(found) >= limit:
            return found[:limit]
    return found


def _mode(path: Path) -> int | None:
    """The path's file mode, None if nothing is there; ConfigError if the system refuses the
    path itself (a name too long, a loop of links, no permission to look)."""
    try:
        return path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ConfigError(
            f"{clip_key(str(path))}: cannot create a project there ({exc.strerror or exc})",
            hint="pass a directory path the system accepts (each name at most 255 bytes)",
        ) from None


def _starts_sdk(path: Path) -> bool:
    """Whether the file calls `runpod.serverless.start(...)` (in code: a mention in a comment
    or a string does not count). A file Python cannot parse is judged by its text."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if not SDK_START.search(text):
        return False
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    return any(isinstance(node, ast.Call) and _is_sdk_start(node.func) for node in ast.walk(tree))


def _is_sdk_start(func: ast.expr) -> bool:
    """`runpod.serverless.start`, written out (however the call spaces it)."""
    if not (isinstance(func, ast.Attribute) and func.attr == "start"):
        return False
    inner = func.value
    return (
        isinstance(inner, ast.Attribute)
        and inner.attr == "serverless"
        and isinstance(inner.value, ast.Name)
        and inner.value.id == "runpod"
    )


_REQUIREMENT = re.compile(
    r"^podkit\s*(?:\[(?P<extras>[A-Za-z0-9_.,\s-]*)\])?(?P<rest>\s*(?:[=<>!~@;].*)?)$", re.I
)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")


def requirement_with_extra(spec: str, extra: str) -> str:
    """The requirement `spec` (of podkit) with `extra` added: `podkit==1.0` ->
    `podkit[extra]==1.0`, `podkit[a] @ URL` -> `podkit[a,extra] @ URL`, a bare URL ->
    `podkit[extra] @ URL`; anything else is a ConfigError naming --podkit-spec."""
    text = spec.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in text) or not text:
        raise ConfigError(
            "--podkit-spec is not one requirement on one line",
            hint="give one requirement, e.g. --podkit-spec 'podkit==1.2.3'",
        )
    m = _REQUIREMENT.match(text)
    if m is not None:
        extras = {e.strip() for e in (m.group("extras") or "").split(",") if e.strip()}
        joined = ",".join(sorted(extras | {extra}))
        rest = m.group("rest").strip()
        sep = " " if rest.startswith(("@", ";")) else ""
        return f"podkit[{joined}]{sep}{rest}"
    if _URL.match(text):
        return f"podkit[{extra}] @ {text}"
    raise ConfigError(
        f"--podkit-spec {clip_key(text)!r} is not a requirement of podkit",
        hint="write podkit==VERSION, podkit @ URL, or a URL pip installs podkit from "
        "(git+https://..., https://.../podkit.whl, file:///...)",
    )


# Characters that would break the string or comment a handler's file name is written into
# (podkit.toml, the Dockerfile's CMD, the tests).
_HANDLER_BAD = re.compile(r'["\\`\x00-\x1f\x7f]')


def _check_handler_name(name: str) -> str:
    if _HANDLER_BAD.search(name):
        raise ConfigError(
            f"the handler's file name {clip_key(name)!r} has a quote, a backslash, a backtick or "
            "a control character, which podkit.toml, the Dockerfile and the tests cannot hold",
            hint="rename the file (e.g. handler.py), then run podkit init again",
        )
    return name
