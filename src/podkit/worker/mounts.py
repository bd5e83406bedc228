"""Which mount a directory lives on, from `/proc/self/mountinfo`, and whether it is networked."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

NETWORK_FS_TYPES = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "moosefs",
        "9p",
        "virtiofs",
        "afs",
        "ocfs2",
        "gfs2",
        "juicefs",
    }
)
# FUSE filesystems that are local despite the prefix.
LOCAL_FUSE = frozenset({"fuse.fuse-overlayfs", "fuse.lxcfs", "fuse.portal", "fuse.gvfsd-fuse"})


@dataclass(frozen=True)
class Mount:
    """One line of mountinfo: where it is mounted, its type and its source."""

    mount_point: str
    fs_type: str
    source: str

    @property
    def is_network(self) -> bool:
        """True for network and FUSE-backed remote filesystems (how network volumes appear)."""
        base = self.fs_type.split(".", 1)[0]
        if self.fs_type in LOCAL_FUSE:
            return False
        return base in NETWORK_FS_TYPES or base == "fuse" or self.fs_type in NETWORK_FS_TYPES


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    out, i = [], 0
    while i < len(field):
        code = field[i + 1 : i + 4]
        if field[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """Every mount in a `/proc/<pid>/mountinfo` text."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 2:
            continue
        mounts.append(Mount(_unescape(fields[4]), tail[0], _unescape(tail[1])))
    return mounts


def mount_of(path: str, mounts: list[Mount]) -> Mount | None:
    """The mount holding `path` (a resolved path): the longest mount point above it."""
    best: Mount | None = None
    for mount in mounts:
        mp = mount.mount_point
        inside = path == mp or path.startswith(mp.rstrip("/") + "/")
        if inside and (best is None or len(mp) >= len(best.mount_point)):
            best = mount
    return best


def read_mounts(mountinfo: str = "/proc/self/mountinfo") -> list[Mount]:
    """The mounts of this process; empty where mountinfo is unreadable (not Linux)."""
    try:
        return parse_mountinfo(Path(mountinfo).read_text(errors="replace"))
    except OSError:
        return []


def describe(resolved: str, mounts: list[Mount]) -> dict[str, object]:
    """Mount facts about a resolved directory: its own mount point?, fs type, networked?"""
    mount = mount_of(resolved, mounts)
    is_mount_point = os.path.ismount(resolved)
    return {
        "is_mount_point": is_mount_point,
        "filesystem": mount.fs_type if mount else None,
        "network_volume": bool(mount and mount.is_network),
    }
