"""Parsing nvidia-smi's plain header and --query-gpu CSV (fixtures are representative)."""

from __future__ import annotations

from pathlib import Path

from podkit.worker import nvidia_smi

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "nvidia_smi"


def _read(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_h200_fields() -> None:
    [gpu] = nvidia_smi.parse_query(_read("h200_1gpu.csv"))
    assert gpu == {
        "index": 0,
        "name": "NVIDIA H200",
        "uuid": "GPU-5b1e6f0c-2d8a-4c3e-9f11-7a2b4c6d8e01",
        "memory_total_mib": 143771,
        "memory_used_mib": 1,
        "memory_free_mib": 143355,
        "utilization_gpu_percent": 0,
        "temperature_c": 29,
        "power_draw_w": 76.42,
        "power_limit_w": 700.0,
        "mig_mode": "Disabled",
        "driver_version": "550.127.05",
    }


def test_two_gpus_keep_their_order() -> None:
    gpus = nvidia_smi.parse_query(_read("h100_2gpu.csv"))
    assert [g["index"] for g in gpus] == [0, 1]
    assert gpus[0]["utilization_gpu_percent"] == 87


def test_na_and_not_supported_become_none() -> None:
    [gpu] = nvidia_smi.parse_query(_read("na_fields.csv"))
    assert gpu["temperature_c"] is None
    assert gpu["power_draw_w"] is None
    assert gpu["power_limit_w"] is None
    assert gpu["mig_mode"] is None
    assert gpu["memory_total_mib"] == 23034


def test_mig_card() -> None:
    [gpu] = nvidia_smi.parse_query(_read("a100_mig.csv"))
    assert gpu["mig_mode"] == "Enabled"
    assert gpu["utilization_gpu_percent"] is None


def test_versions_from_the_header() -> None:
    plain = _read("h100_2gpu.txt")
    assert nvidia_smi.cuda_version(plain) == "12.8"
    assert nvidia_smi.driver_version(plain) == "570.124.06"
    assert nvidia_smi.cuda_version("garbage") is None


def test_rows_with_wrong_columns_are_skipped() -> None:
    assert nvidia_smi.parse_query("NVIDIA H200, GPU-1, 1\n\n") == []


def test_failure_summary_takes_the_first_message() -> None:
    text = nvidia_smi.summarise_failure(9, "\n  NVIDIA-SMI has failed\nmore\n", "")
    assert text == "nvidia-smi failed (exit 9): NVIDIA-SMI has failed"
    assert nvidia_smi.summarise_failure(1, "", "") == "nvidia-smi failed (exit 1) without a message"


def test_numbers_without_a_json_form_become_none() -> None:
    fields = len(nvidia_smi.QUERY_FIELDS)
    for odd in ("inf", "-inf", "nan", "1e400"):
        row = ", ".join([odd] * fields)
        (gpu,) = nvidia_smi.parse_query(row + "\n")
        assert all(v is None or isinstance(v, str) for v in gpu.values()), (odd, gpu)


def test_a_field_past_the_csv_limit_keeps_the_rows_before_it() -> None:
    good = ", ".join(["1"] * len(nvidia_smi.QUERY_FIELDS))
    text = f"{good}\n" + "x" * 200_000 + "\n"
    assert len(nvidia_smi.parse_query(text)) == 1


def test_units_a_driver_appends_are_read_and_odd_numbers_are_not() -> None:
    fields = "0, NVIDIA H100, GPU-1, 81559 MiB, 1_000, 0x10, 3 %, \u0663, 70.5 W, 700.00 W"
    row = f"{fields}, Disabled, 570"
    [gpu] = nvidia_smi.parse_query(row + "\n")
    assert gpu["memory_total_mib"] == 81559
    assert gpu["utilization_gpu_percent"] == 3
    assert (gpu["power_draw_w"], gpu["power_limit_w"]) == (70.5, 700.0)
    assert gpu["memory_used_mib"] is None  # `1_000` is not how nvidia-smi writes a number
    assert gpu["memory_free_mib"] is None
    assert gpu["temperature_c"] is None  # a digit of another script
