"""Writing a rendered project: every target checked before the first byte, all or nothing.

A target that exists (a file, a link, even a dangling one) is the user's: it is only replaced
with `force`, and then the link itself is replaced, never the file it points to; with `keep`
(adopting a handler into a repository that has its own Dockerfile or requirements) it is left
as it is and only the missing files are written. A folder the
project needs that is a file, or a link leading out of the project, is refused before anything
is written. Each file is written beside its place and renamed into it, and a write that fails
half-way takes back the files and folders it created.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from podkit.config.problems import clip_key
from podkit.errors import ConfigError


def write_project(
    dest: Path, files: dict[str, str], *, force: bool = False, keep: bool = False
) -> tuple[list[Path], list[Path]]:
    """Write `files` (relative path -> text) under `dest`: the paths written, and those kept
    because they exist (with `keep`). Refuse, writing nothing, if one exists (unless `force`
    or `keep`) or cannot be written there."""
    if dest.exists() and not dest.is_dir():
        raise ConfigError(
            f"{dest} exists and is not a directory", hint="pass a new or existing directory"
        )
    targets = {dest / rel: text for rel, text in files.items()}
    root = dest.resolve() if dest.exists() else None
    for path in targets:
        _check_place(dest, root, path)
    existing = [p for p in targets if lexists(p)]
    if keep and not force:
        targets = {p: text for p, text in targets.items() if p not in existing}
    elif existing and not force:
        shown = ", ".join(str(p.relative_to(dest)) for p in existing)
        raise ConfigError(
            f"{dest}: would overwrite {shown} (nothing was written)",
            hint="pick an empty directory, or pass --force to overwrite these files",
        )
    created: list[Path] = []
    try:
        for path, text in targets.items():
            created.extend(_make_parents(path.parent))
            if not lexists(path):
                created.append(path)
            _replace(path, text)
    except OSError:
        _take_back(created)
        raise
    return list(targets), (existing if keep and not force else [])


def _check_place(dest: Path, root: Path | None, path: Path) -> None:
    """`path`'s folders are folders inside the project (or absent), and `path` is no folder."""
    rel = path.relative_to(dest)
    here = dest
    for part in rel.parts[:-1]:
        here = here / part
        mode = _lmode(here)
        if mode is None:
            return
        if stat.S_ISLNK(mode) and root is not None and not _inside(here, root):
            raise ConfigError(
                f"{dest}: {clip_key(str(here.relative_to(dest)))} is a link out of the project",
                hint=f"init puts {rel} there: remove the link, or pick another directory",
            )
        if not here.is_dir():
            raise ConfigError(
                f"{dest}: {clip_key(str(here.relative_to(dest)))} is not a folder, and init "
                f"puts {rel} in it",
                hint="move that file away, or pick another directory",
            )
    mode = _lmode(path)
    if mode is not None and stat.S_ISDIR(mode):
        raise ConfigError(
            f"{dest}: {rel} is a directory where init writes a file (even with --force)",
            hint="move that directory away, or pick another directory",
        )


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def _lmode(path: Path) -> int | None:
    try:
        return path.lstat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None


def lexists(path: Path) -> bool:
    """Whether anything stands at `path`: a file, a folder, a link (even a dangling one)."""
    return _lmode(path) is not None


def _make_parents(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; the ones created, outermost first."""
    missing: list[Path] = []
    here = folder
    while not lexists(here):
        missing.append(here)
        here = here.parent
    made: list[Path] = []
    for path in reversed(missing):
        path.mkdir()
        made.append(path)
    return made


def _replace(path: Path, text: str) -> None:
    """Write `text` beside `path`, then rename it into place (a link is replaced, not followed)."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _take_back(created: list[Path]) -> None:
    for path in reversed(created):
        try:
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
            else:
                path.unlink()
        except OSError:
            pass
