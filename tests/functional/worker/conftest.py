"""One real SDK worker (`--rp_serve_api`) shared by the worker's functional tests.

The volume tree is built before the worker starts; tests may add files to it at run time,
since every job reads the filesystem afresh. `gpu_case` picks what the fake nvidia-smi prints.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.functional.worker.sdk import FAKE_SMI_DIR, LocalApi, worker_env

SECRET = "sk-test-SECRET-value-0123456789"


@dataclass
class WorkerSetup:
    """Where things are: the volume dir, the second root, the outside dir, the API."""

    api: LocalApi
    volume: Path
    workspace: Path
    outside: Path
    link_root: Path
    alias_root: Path
    smi_state: Path

    def gpu_case(self, name: str) -> None:
        """Make the fake nvidia-smi print fixture `name` (or fail, with `broken`)."""
        self.smi_state.write_text(name)


def build_tree(base: Path) -> dict[str, Path]:
    """A volume with models, links in and out, a deep escaping link and a loop."""
    vol, ws, outside = base / "volume", base / "workspace", base / "outside"
    (vol / "models" / "sd").mkdir(parents=True)
    (vol / "models" / "sd" / "unet.safetensors").write_bytes(b"x" * 1234)
    (vol / "models" / "llm").mkdir()
    (vol / "models" / "llm" / "config.json").write_text("{}")
    deep = vol / "models" / "deep" / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "link_up").symlink_to("../../../../../../outside")
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (outside / "sub").mkdir()
    (vol / "link_out_dir").symlink_to(outside)
    (vol / "link_out_file").symlink_to(outside / "secret.txt")
    (vol / "link_etc").symlink_to("/etc")
    (vol / "link_in").symlink_to("models")
    (vol / "loop").symlink_to("loop")
    ws.mkdir()
    (ws / "notes.txt").write_text("hello")
    link_root = base / "linkroot"
    link_root.symlink_to(outside)
    alias_root = base / "aliasroot"
    alias_root.symlink_to(vol / "models")
    return {
        "volume": vol,
        "workspace": ws,
        "outside": outside,
        "link_root": link_root,
        "alias_root": alias_root,
    }


@pytest.fixture(scope="session")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerSetup]:
    """The shared worker: /runpod-volume (mapped), a workspace, a bad and a good link root."""
    base = tmp_path_factory.mktemp("worker")
    tree = build_tree(base)
    smi_state = base / "smi_case"
    smi_state.write_text("h200_1gpu")
    roots = [
        "/runpod-volume",
        str(tree["workspace"]),
        str(tree["link_root"]),
        str(tree["alias_root"]),
    ]
    env = worker_env(
        base,
        {
            "PODKIT_VOLUME_DIR": str(tree["volume"]),
            "PODKIT_ALLOWED_ROOTS": ":".join(roots),
            "PATH": f"{FAKE_SMI_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
            "FAKE_NVIDIA_SMI_STATE": str(smi_state),
            "RUNPOD_POD_ID": "pod-abc123",
            "RUNPOD_DC_ID": "EU-RO-1",
            "RUNPOD_GPU_COUNT": "1",
            "RUNPOD_ENDPOINT_ID": "ep-test",
            "RUNPOD_AI_API_KEY": SECRET,
            "RUNPOD_API_KEY": SECRET,
        },
    )
    api = LocalApi(env)
    try:
        yield WorkerSetup(api=api, smi_state=smi_state, **tree)
    finally:
        api.close()
