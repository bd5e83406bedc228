"""The path sandbox in-process on a real tree: the same hostile paths the SDK worker refuses
(test_list_files_hostile.py), plus roots that are missing, files or links, and where a
resolved path lands. In-process so that a change to worker/paths.py shows up here directly."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from podkit.errors import WorkerActionError, WorkerInputError
from podkit.worker.paths import Root, Roots, _walk_error, open_dir, roots_from_env
from tests.functional.worker.conftest import build_tree
from tests.functional.worker.test_list_files_hostile import HOSTILE


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_tree(tmp_path_factory.mktemp("paths"))


@pytest.fixture(scope="module")
def roots(tree: dict[str, Path]) -> Roots:
    spec = [
        "/runpod-volume",
        str(tree["workspace"]),
        str(tree["link_root"]),
        str(tree["alias_root"]),
    ]
    env = {"PODKIT_VOLUME_DIR": str(tree["volume"]), "PODKIT_ALLOWED_ROOTS": ":".join(spec)}
    return Roots.from_env(env)


def _list(roots: Roots, path: object) -> list[str]:
    with open_dir(roots.resolve(path)) as fd:
        return sorted(os.listdir(fd))  # noqa: PTH208 (a directory fd, not a path)


@pytest.mark.parametrize(("path", "words"), HOSTILE, ids=[repr(p)[:40] for p, _ in HOSTILE])
def test_each_hostile_path_is_refused_naming_why(roots: Roots, path: str, words: list[str]) -> None:
    with pytest.raises(WorkerInputError) as err:
        _list(roots, path)
    for word in words:
        assert word in str(err.value)


def test_paths_inside_list_and_links_inside_resolve_within(
    roots: Roots, tree: dict[str, Path]
) -> None:
    assert _list(roots, "/runpod-volume/models") == ["deep", "llm", "sd"]
    assert _list(roots, "/runpod-volume/link_in") == ["deep", "llm", "sd"]
    target = roots.resolve("/runpod-volume/link_in/sd")
    assert target.virtual == "/runpod-volume/link_in/sd"
    assert target.base == os.path.realpath(tree["volume"])
    assert target.relative == ("models", "sd")
    assert roots.resolve("/runpod-volume").relative == ()
    assert _list(roots, "/runpod-volume/") == sorted(p.name for p in tree["volume"].iterdir())


def test_a_root_that_links_into_another_root_is_served(roots: Roots, tree: dict[str, Path]) -> None:
    alias = str(tree["alias_root"])
    assert _list(roots, alias) == ["deep", "llm", "sd"]
    target = roots.resolve(f"{alias}/sd")
    assert target.base == os.path.realpath(tree["alias_root"])
    assert target.relative == ("sd",)


def test_a_root_that_links_outside_is_refused(roots: Roots, tree: dict[str, Path]) -> None:
    with pytest.raises(WorkerInputError, match="symbolic link that leads outside the allowed"):
        _list(roots, str(tree["link_root"]))


def test_a_root_beside_another_with_a_common_prefix_is_not_inside_it(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data2").mkdir()
    (tmp_path / "data2" / "x").mkdir()
    roots = Roots([Root("/data", str(tmp_path / "data"))])
    with pytest.raises(WorkerInputError, match="outside the allowed roots \\(/data\\)"):
        roots.resolve("/data2/x")
    assert roots.describe() == "/data"


def test_the_longest_matching_root_wins(tmp_path: Path) -> None:
    outer, inner = tmp_path / "outer", tmp_path / "inner"
    (outer / "m").mkdir(parents=True)
    (inner / "only-inner").mkdir(parents=True)
    roots = Roots([Root("/v", str(outer)), Root("/v/m", str(inner))])
    assert roots.resolve("/v/m/only-inner").base == os.path.realpath(inner)
    assert roots.resolve("/v/m/only-inner").relative == ("only-inner",)
    assert roots.describe() == "/v, /v/m"


@pytest.mark.parametrize("mapped", [True, False])
def test_a_missing_root_names_itself_and_the_fix(tmp_path: Path, mapped: bool) -> None:
    real = str(tmp_path / "gone") if mapped else "/runpod-volume"
    roots = Roots([Root("/runpod-volume", real)])
    with pytest.raises(WorkerActionError, match="allowed root /runpod-volume does not exist") as e:
        roots.resolve("/runpod-volume/x")
    assert e.value.hint is not None
    assert ("PODKIT_VOLUME_DIR" in e.value.hint) is mapped
    assert str(tmp_path) not in str(e.value)  # the local directory stays unnamed


def test_a_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    roots = Roots([Root("/f", str(tmp_path / "f"))])
    with pytest.raises(WorkerActionError, match="allowed root /f is not a directory"):
        roots.resolve("/f")


def test_a_broken_root_does_not_hide_the_others(tmp_path: Path) -> None:
    (tmp_path / "ok" / "a").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "ok" / "a")
    roots = Roots([Root("/gone", str(tmp_path / "nothing")), Root("/ok", str(tmp_path / "ok")),
                   Root("/l", str(tmp_path / "link"))])  # fmt: skip
    assert _list(roots, "/l") == []
    assert roots.resolve("/l").base == os.path.realpath(tmp_path / "link")


def test_volume_dir_is_made_absolute_and_other_roots_keep_their_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    roots = roots_from_env({"PODKIT_VOLUME_DIR": "vol", "PODKIT_ALLOWED_ROOTS": "/runpod-volume//"})
    assert roots == [Root("/runpod-volume", str(tmp_path / "vol"))]
    with pytest.raises(WorkerActionError, match="entry '/a\\\\x00b' must be an absolute"):
        roots_from_env({"PODKIT_ALLOWED_ROOTS": "/a\x00b"})


def test_a_component_that_is_a_file_midway_is_not_a_directory(roots: Roots) -> None:
    with pytest.raises(WorkerInputError, match="is not a directory, or a symbolic link in it"):
        _list(roots, "/runpod-volume/models/sd/unet.safetensors/x")


def test_the_environment_is_read_when_none_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODKIT_ALLOWED_ROOTS", str(tmp_path))
    monkeypatch.delenv("PODKIT_VOLUME_DIR", raising=False)
    assert roots_from_env() == [Root(str(tmp_path), str(tmp_path))]
    assert Roots.from_env().roots == [Root(str(tmp_path), str(tmp_path))]
    assert Roots.from_env({"PODKIT_ALLOWED_ROOTS": "/given"}).roots == [Root("/given", "/given")]


def test_a_bad_root_entry_says_how_to_fix_the_environment() -> None:
    with pytest.raises(WorkerActionError) as err:
        roots_from_env({"PODKIT_ALLOWED_ROOTS": "relative"})
    assert err.value.hint == "fix the worker's environment (colon-separated absolute paths)"


def test_a_root_whose_name_ends_in_a_slash_character_class_still_contains_its_paths(
    tmp_path: Path,
) -> None:
    (tmp_path / "voluX" / "sub").mkdir(parents=True)
    roots = Roots([Root("/voluX", str(tmp_path / "voluX"))])
    assert roots.resolve("/voluX/sub").relative == ("sub",)


def test_two_link_roots_cannot_vouch_for_each_other(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (tmp_path / "l1").symlink_to(outside)
    (tmp_path / "l2").symlink_to(outside / "sub")
    roots = Roots([Root("/l1", str(tmp_path / "l1")), Root("/l2", str(tmp_path / "l2"))])
    for root in ("/l1", "/l2"):
        with pytest.raises(WorkerInputError) as err:
            roots.resolve(root)
        assert err.value.message == (
            f"allowed root {root} is a symbolic link that leads outside the allowed roots; "
            "podkit refuses to serve it"
        )
        assert err.value.hint == (
            "point the link into another allowed root or mount the directory there"
        )


def test_a_link_into_another_root_is_followed_even_when_a_third_root_is_missing(
    tmp_path: Path,
) -> None:
    (tmp_path / "v").mkdir()
    (tmp_path / "ws" / "data").mkdir(parents=True)
    (tmp_path / "v" / "to_ws").symlink_to(tmp_path / "ws")
    roots = Roots(
        [Root("/gone", str(tmp_path / "gone")), Root("/v", str(tmp_path / "v")),
         Root("/ws", str(tmp_path / "ws"))]
    )  # fmt: skip
    target = roots.resolve("/v/to_ws/data")
    assert (target.base, target.relative) == (os.path.realpath(tmp_path / "ws"), ("data",))


@pytest.mark.parametrize(
    ("mapped", "hint"),
    [
        (True, "create the directory PODKIT_VOLUME_DIR names, or point it at an existing one"),
        (False, "attach the network volume, or set PODKIT_ALLOWED_ROOTS to roots that exist"),
    ],
)
def test_a_missing_root_gives_the_exact_fix(tmp_path: Path, mapped: bool, hint: str) -> None:
    real = str(tmp_path / "gone") if mapped else "/runpod-volume-absent"
    virtual = "/runpod-volume" if mapped else "/runpod-volume-absent"
    with pytest.raises(WorkerActionError) as err:
        Roots([Root(virtual, real)]).resolve(virtual)
    assert err.value.hint == hint


def test_refusals_while_walking_name_the_path(roots: Roots) -> None:
    with pytest.raises(WorkerInputError) as err:
        _list(roots, "/runpod-volume/no/such/dir")
    assert err.value.message == "path '/runpod-volume/no/such/dir' does not exist"
    with pytest.raises(WorkerInputError) as err:
        _list(roots, "/runpod-volume/models/sd/unet.safetensors")
    assert (
        err.value.message
        == "path '/runpod-volume/models/sd/unet.safetensors' is a file, not a directory"
    )
    assert err.value.hint == "list its parent directory to see its size and modification time"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (OSError(errno.ENOENT, "x"), "path '/v/p' does not exist"),
        (
            OSError(errno.ELOOP, "x"),
            "path '/v/p' is not a directory, or a symbolic link in it changed or loops; "
            "refused without following it",
        ),
        (OSError(errno.EACCES, "x"), "path '/v/p': permission denied for the worker"),
        (OSError(errno.ENAMETOOLONG, "x"), "path '/v/p': a name is too long for the filesystem"),
        (OSError(errno.EIO, "x"), "path '/v/p' cannot be opened (Input/output error)"),
        (OSError("no errno"), "path '/v/p' cannot be opened (Success)"),
    ],
)
def test_each_walk_error_is_explained(error: OSError, message: str) -> None:
    assert _walk_error(error, "/v/p").message == message
