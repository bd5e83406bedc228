"""Reading mountinfo: which mount holds a path, and whether it is a network filesystem."""

from __future__ import annotations

from podkit.worker.mounts import Mount, mount_of, parse_mountinfo

MOUNTINFO = """\
22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l
35 22 0:45 / /runpod-volume rw,relatime - fuse.mfs mfs#10.0.0.5:9421 rw,user_id=0
36 22 0:46 / /workspace rw,relatime shared:5 - nfs4 10.0.0.6:/export rw,vers=4.1
37 22 8:1 / /data\\040dir rw - ext4 /dev/sda1 rw
38 22 0:47 / /ovl rw - fuse.fuse-overlayfs fuse-overlayfs rw
"""


def test_longest_mount_point_wins() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert mount_of("/runpod-volume/models/x", mounts) == Mount(
        "/runpod-volume", "fuse.mfs", "mfs#10.0.0.5:9421"
    )
    root = mount_of("/etc", mounts)
    assert root is not None and root.mount_point == "/"
    assert mount_of("/runpod-volumex", mounts) == root


def test_network_filesystems_are_recognised() -> None:
    by_point = {m.mount_point: m for m in parse_mountinfo(MOUNTINFO)}
    assert by_point["/runpod-volume"].is_network
    assert by_point["/workspace"].is_network
    assert not by_point["/"].is_network
    assert not by_point["/ovl"].is_network


def test_escaped_spaces_in_mount_points() -> None:
    assert "/data dir" in {m.mount_point for m in parse_mountinfo(MOUNTINFO)}
