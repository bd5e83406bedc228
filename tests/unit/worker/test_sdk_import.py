"""The CPU-probe skip is scoped to the block and reversible, whatever happens inside."""

from __future__ import annotations

import sys
from pathlib import Path

import cpuinfo
import pytest

from podkit.worker.sdk_import import cpu_brand, cpuinfo_probe_skipped, skip_probe_enabled


def test_the_real_function_is_back_after_the_block() -> None:
    real = cpuinfo.get_cpu_info
    with cpuinfo_probe_skipped():
        assert cpuinfo.get_cpu_info is not real
        assert set(cpuinfo.get_cpu_info()) == {"brand_raw"}
    assert cpuinfo.get_cpu_info is real


def test_the_real_function_is_back_after_an_error() -> None:
    real = cpuinfo.get_cpu_info
    with pytest.raises(RuntimeError), cpuinfo_probe_skipped():
        raise RuntimeError("import failed")
    assert cpuinfo.get_cpu_info is real


@pytest.mark.parametrize(
    ("value", "enabled"),
    [(None, True), ("", True), ("true", True), ("1", True), ("false", False), ("0", False),
     (" No ", False), ("off", False)],
)  # fmt: skip
def test_the_skip_is_on_unless_opted_out(value: str | None, enabled: bool) -> None:
    env = {} if value is None else {"PODKIT_SKIP_CPUINFO": value}
    assert skip_probe_enabled(env) is enabled


def test_the_brand_comes_from_proc_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC 9654 96-Core Processor\n")
    assert cpu_brand(info) == "AMD EPYC 9654 96-Core Processor"
    assert cpu_brand(tmp_path / "missing") == "unknown"


def test_a_stand_in_serves_the_block_and_the_real_module_loads_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "cpuinfo")
    with cpuinfo_probe_skipped():
        import cpuinfo as during

        assert set(during.get_cpu_info()) == {"brand_raw"}
        assert not hasattr(during, "get_cpu_info_json")
    assert "cpuinfo" not in sys.modules
    import cpuinfo as after

    assert callable(after.get_cpu_info_json)
