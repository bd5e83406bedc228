"""The pure planning step: (listed files, recorded state, local stat) -> what to do per file.

No I/O here: the caller lists the source, reads the state file and stats the destination.
A file is current when the state file records the same source key and the local file still
has the size and mtime written then; a present file of the right size that the state does not
know, or whose mtime moved, is re-verified by checksum (no download) when the source gives one,
and fetched otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from podkit.worker.transfer.remote import RemoteFile
from podkit.worker.transfer.state import Recorded


class Action(StrEnum):
    SKIP = "skip"  # current: no request at all
    CHECK = "check"  # present but unrecorded: hash locally, fetch only on mismatch
    FETCH = "fetch"  # missing, changed or unverifiable


@dataclass(frozen=True)
class Step:
    action: Action
    remote: RemoteFile
    reason: str


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]

    def of(self, action: Action) -> list[Step]:
        return [step for step in self.steps if step.action is action]

    @property
    def bytes_to_fetch(self) -> int:
        return sum(step.remote.size for step in self.steps if step.action is not Action.SKIP)


LocalStat = tuple[int, int]  # (size, mtime_ns)


def make_plan(
    remote: list[RemoteFile],
    recorded: dict[str, Recorded],
    local: dict[str, LocalStat | None],
) -> Plan:
    """Decide per file, in a stable order (sorted by path)."""
    steps = [decide(item, recorded.get(item.path), local.get(item.path)) for item in remote]
    return Plan(tuple(sorted(steps, key=lambda step: step.remote.path)))


def decide(item: RemoteFile, record: Recorded | None, stat: LocalStat | None) -> Step:
    """What to do with one file, from its listing, its record and its local stat."""
    if stat is None:
        return Step(Action.FETCH, item, "missing")
    size, mtime_ns = stat
    if record is not None and record.key == item.key:
        if size == record.size == item.size and mtime_ns == record.mtime_ns:
            return Step(Action.SKIP, item, "current")
        if size == item.size and _checkable(item):
            # Same size, other mtime: touched, or rewritten by a second worker. Hash, don't fetch.
            return Step(Action.CHECK, item, "touched locally")
        return Step(Action.FETCH, item, "changed locally")
    if record is not None:
        return Step(Action.FETCH, item, "changed at the source")
    if size == item.size and _checkable(item):
        return Step(Action.CHECK, item, "present, not recorded")
    return Step(Action.FETCH, item, "present, unverifiable")


def _checkable(item: RemoteFile) -> bool:
    expected = item.expected
    return bool(
        expected.crc32c
        or expected.md5
        or expected.sha256
        or expected.git_sha1
        or expected.multipart()
    )
