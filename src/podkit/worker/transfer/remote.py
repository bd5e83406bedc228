"""What a source lists (one `RemoteFile` per object) and the `Source` protocol of each store."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Protocol

from podkit.errors import TransferError
from podkit.worker.transfer._fetch import NOT_THE_STORE, Fetcher, FetchError
from podkit.worker.transfer.credentials import in_words
from podkit.worker.transfer.verify import Expected


@dataclass(frozen=True)
class RemoteFile:
    """One object to place at `path` (relative to the destination directory)."""

    path: str
    url: str
    size: int
    version: str  # identity of this content: generation, ETag, commit sha + oid
    expected: Expected
    pin_headers: tuple[tuple[str, str], ...] = field(default=())
    # Headers each data answer must repeat where it carries them (a version no request can
    # pin, such as a weak ETag): another value means the source changed under the download.
    validators: tuple[tuple[str, str], ...] = field(default=())
    # False where nothing tells two versions apart (no validator, no checksum): fetched in
    # one stream, never as byte ranges that could come from different versions.
    splittable: bool = True

    @property
    def key(self) -> str:
        """What the state file records: a change of size or version means a re-fetch."""
        return f"{self.size}:{self.version}"


class Source(Protocol):
    """A store (GCS, S3, HTTPS, Hugging Face) that lists files and signs requests."""

    label: str
    changed_statuses: frozenset[int]

    def list_files(self, fetcher: Fetcher) -> list[RemoteFile]:
        """Every file of the source (filters not yet applied)."""
        ...

    def headers(self, url: str) -> dict[str, str]:
        """Auth headers for a request to `url` (never logged)."""
        ...

    def refresh(self, fetcher: Fetcher, old: RemoteFile) -> RemoteFile | None:
        """The current version of a file that changed mid-download; None if it is gone."""
        ...


def listed(source: Source, fetcher: Fetcher) -> list[RemoteFile]:
    """`source.list_files`, with an answer the source cannot read as a listing (valid JSON or
    XML of another shape, a record without a field it needs) one TransferError naming it."""
    try:
        return source.list_files(fetcher)
    except FetchError as exc:  # one a source did not word itself
        raise TransferError(f"{source.label}: {exc}", hint=exc.hint or NOT_THE_STORE) from None
    except (KeyError, IndexError, TypeError, AttributeError, ValueError, SyntaxError) as exc:
        raise TransferError(
            f"{source.label}: the store answered a listing podkit cannot read "
            f"({in_words(exc, {})})",
            hint=NOT_THE_STORE,
        ) from None


_UNSAFE_PARTS = frozenset({"", ".", ".."})


def safe_relative(path: str, *, source: str) -> str:
    """Reject object names that would escape the destination directory."""
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or not _UNSAFE_PARTS.isdisjoint(parts)
    ):
        raise TransferError(
            f"{source}: object name {path!r} is not a safe relative path",
            hint="rename the object, or exclude it with an exclude glob in [[models]]",
        )
    if parts[-1].endswith(".incomplete") or parts[-1].startswith(".podkit"):
        raise TransferError(
            f"{source}: object name {path!r} collides with podkit's temporary files",
            hint="exclude it with an exclude glob in [[models]]",
        )
    return path


def select(files: list[RemoteFile], include: list[str], exclude: list[str]) -> list[RemoteFile]:
    """Apply include/exclude globs (fnmatch on the relative path; `*` also matches '/')."""
    chosen = []
    for item in files:
        if include and not any(fnmatchcase(item.path, glob) for glob in include):
            continue
        if any(fnmatchcase(item.path, glob) for glob in exclude):
            continue
        chosen.append(item)
    return chosen
