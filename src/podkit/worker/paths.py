"""Path safety: map request paths onto the allowed roots and open them without escaping.

Requests name *virtual* paths (`/runpod-volume/models/x`); responses keep them. Each allowed
root maps to a real directory: `/runpod-volume` to `PODKIT_VOLUME_DIR` when that is set, every
other root to itself. A request is refused (a `WorkerInputError` naming the path) when it is not
a string, holds a NUL byte, has a `..` component, is too long (a name over 255 bytes or a path
over 4095), lies outside every root, or leads outside them through a symbolic link at any depth.

Opening is race-safe: after the link check, the path is walked again from the root's directory
one component at a time with `O_NOFOLLOW`, so a link swapped in meanwhile is refused rather than
followed. A root that is itself a link is served only when it points into another root.
"""

from __future__ import annotations

# This module works on path strings and directory fds on purpose (openat, O_NOFOLLOW);
# pathlib would hide exactly the steps it has to control.
# ruff: noqa: PTH100, PTH114, PTH118
import errno
import os
import posixpath
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from podkit.errors import WorkerActionError, WorkerInputError

VOLUME_ROOT = "/runpod-volume"
DEFAULT_ROOTS = (VOLUME_ROOT, "/workspace")
NAME_MAX = 255
PATH_MAX = 4095
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_WALK_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Root:
    """An allowed root: the path callers use, and the directory it is on this machine."""

    virtual: str
    real: str


def roots_from_env(env: Mapping[str, str] | None = None) -> list[Root]:
    """The allowed roots from `PODKIT_ALLOWED_ROOTS` and `PODKIT_VOLUME_DIR` (or the defaults)."""
    env = os.environ if env is None else env
    spec = env.get("PODKIT_ALLOWED_ROOTS", "")
    entries = [e for e in spec.split(":") if e] or list(DEFAULT_ROOTS)
    volume_dir = env.get("PODKIT_VOLUME_DIR", "")
    roots = []
    for entry in entries:
        virtual = posixpath.normpath(entry)
        if not virtual.startswith("/") or virtual == "/" or "\x00" in virtual:
            raise WorkerActionError(
                f"PODKIT_ALLOWED_ROOTS entry {entry!r} must be an absolute directory, not '/'",
                hint="fix the worker's environment (colon-separated absolute paths)",
            )
        real = os.path.abspath(volume_dir) if virtual == VOLUME_ROOT and volume_dir else virtual
        roots.append(Root(virtual, real))
    return roots


def _within(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def root_base(root: Root, roots: list[Root]) -> str:
    """The resolved directory of `root`; refused when it is a link that leads out of the roots."""
    try:
        st = os.lstat(root.real)
    except OSError:
        # The local directory stays unnamed: responses only ever show the virtual paths.
        hint = (
            "create the directory PODKIT_VOLUME_DIR names, or point it at an existing one"
            if root.real != root.virtual
            else "attach the network volume, or set PODKIT_ALLOWED_ROOTS to roots that exist"
        )
        raise WorkerActionError(
            f"allowed root {root.virtual} does not exist on this worker", hint=hint
        ) from None
    base = os.path.realpath(root.real)
    if stat.S_ISLNK(st.st_mode):
        others = [
            os.path.realpath(r.real) for r in roots if r != root and not os.path.islink(r.real)
        ]
        if not any(_within(base, other) for other in others):
            raise WorkerInputError(
                f"allowed root {root.virtual} is a symbolic link that leads outside the allowed "
                "roots; podkit refuses to serve it",
                hint="point the link into another allowed root or mount the directory there",
            )
    elif not stat.S_ISDIR(st.st_mode):
        raise WorkerActionError(f"allowed root {root.virtual} is not a directory on this worker")
    return base


def check_text(path: object) -> list[str]:
    """Validate a request path's text and return its components (no `.`, no empties)."""
    if not isinstance(path, str):
        raise WorkerInputError(f"field 'path' must be a string, got {type(path).__name__}")
    if "\x00" in path:
        raise WorkerInputError("field 'path' contains a NUL byte; paths cannot contain one")
    try:
        encoded = os.fsencode(path)
    except UnicodeEncodeError:
        raise WorkerInputError("field 'path' is not valid text (lone surrogate)") from None
    if len(encoded) > PATH_MAX:
        raise WorkerInputError(
            f"field 'path' is too long ({len(encoded)} bytes, the limit is {PATH_MAX})"
        )
    parts = [p for p in path.split("/") if p not in ("", ".")]
    for part in parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise WorkerInputError(
                f"field 'path' has a name over {NAME_MAX} bytes ({part[:32]}...)"
            )
        if part == "..":
            raise WorkerInputError(
                f"field 'path': {path!r} contains '..'; name the directory directly"
            )
    if not path.startswith("/"):
        raise WorkerInputError(f"field 'path': {path!r} must be absolute, under an allowed root")
    return parts


@dataclass(frozen=True)
class Target:
    """A request path resolved inside a root: its virtual text and its real directory entry."""

    virtual: str
    base: str
    relative: tuple[str, ...]


class Roots:
    """The allowed roots of this worker, and the only way actions turn paths into files."""

    def __init__(self, roots: list[Root]) -> None:
        self.roots = roots

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Roots:
        """The roots configured by the environment (see `roots_from_env`)."""
        return cls(roots_from_env(env))

    def describe(self) -> str:
        """The roots as a user would write them, for error messages."""
        return ", ".join(r.virtual for r in self.roots)

    def _bases(self) -> list[str]:
        bases = []
        for root in self.roots:
            try:
                bases.append(root_base(root, self.roots))
            except (WorkerActionError, WorkerInputError):
                continue
        return bases

    def resolve(self, path: object) -> Target:
        """Check `path` and find the real entry it names, refusing every escape."""
        parts = check_text(path)
        virtual = "/" + "/".join(parts)
        matches = [r for r in self.roots if _within(virtual, r.virtual)]
        if not matches:
            raise WorkerInputError(
                f"path {virtual!r} is outside the allowed roots ({self.describe()})",
                hint="list a path under one of the allowed roots",
            )
        root = max(matches, key=lambda r: len(r.virtual))
        base = root_base(root, self.roots)
        rest = parts[len(root.virtual.strip("/").split("/")) :]
        resolved = os.path.realpath(os.path.join(base, *rest))
        owner = next((b for b in [base, *self._bases()] if _within(resolved, b)), None)
        if owner is None:
            raise WorkerInputError(
                f"path {virtual!r} leads outside the allowed roots through a symbolic link; "
                "podkit never follows links out of the roots",
                hint="list the link's parent directory to see it as a 'symlink' entry",
            )
        relative = tuple(p for p in os.path.relpath(resolved, owner).split("/") if p != ".")
        return Target(virtual, owner, relative)


def _walk_error(exc: OSError, virtual: str) -> WorkerInputError:
    if exc.errno == errno.ENOENT:
        return WorkerInputError(f"path {virtual!r} does not exist")
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        return WorkerInputError(
            f"path {virtual!r} is not a directory, or a symbolic link in it changed or loops; "
            "refused without following it"
        )
    if exc.errno == errno.EACCES:
        return WorkerInputError(f"path {virtual!r}: permission denied for the worker")
    if exc.errno == errno.ENAMETOOLONG:
        return WorkerInputError(f"path {virtual!r}: a name is too long for the filesystem")
    return WorkerInputError(f"path {virtual!r} cannot be opened ({os.strerror(exc.errno or 0)})")


@contextmanager
def open_dir(target: Target) -> Iterator[int]:
    """Open `target` as a directory fd, walking from its root with `O_NOFOLLOW` at every step."""
    fds: list[int] = []
    try:
        fds.append(_open_step(target, target.base, None, last=not target.relative))
        for i, part in enumerate(target.relative):
            last = i == len(target.relative) - 1
            fds.append(_open_step(target, part, fds[-1], last=last))
        yield fds[-1]
    finally:
        for fd in reversed(fds):
            os.close(fd)


def _open_step(target: Target, name: str, dir_fd: int | None, *, last: bool) -> int:
    try:
        return os.open(name, _DIR_FLAGS if last else _WALK_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        kind = _non_directory(name, dir_fd) if last and exc.errno == errno.ENOTDIR else None
        if kind is not None:
            raise WorkerInputError(
                f"path {target.virtual!r} is {kind}, not a directory",
                hint="list its parent directory to see its size and modification time",
            ) from None
        raise _walk_error(exc, target.virtual) from None


def _non_directory(name: str, dir_fd: int | None) -> str | None:
    """What stands at `name` when it is neither a directory nor a link, in words."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return None
    if stat.S_ISREG(st.st_mode):
        return "a file"
    if stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
        return None
    return "a special file (a FIFO, socket or device)"
