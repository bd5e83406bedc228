"""Strict JSON bodies: what Python's json accepts but no answer could carry back is refused."""

from __future__ import annotations

import pytest

from podkit.emulator.jsonbody import loads_strict


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"a": 1e400}', "beyond a double"),
        (b'["\\ud800"]', "unpaired UTF-16 surrogate"),
        (b'{"\\uDC00": 1}', "unpaired UTF-16 surrogate"),
        (b'"\xed\xa0\x80"', "unpaired UTF-16 surrogate"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_what_no_answer_could_carry_is_refused(raw: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        loads_strict(raw)


def test_valid_bodies_read_as_json() -> None:
    assert loads_strict(b"") is None
    assert loads_strict(b'{"e": "\\ud83d\\ude00", "k": "\xc3\xa9"}') == {
        "e": "\U0001f600",
        "k": "é",
    }
    assert loads_strict(b'{"n": 50.0}') == {"n": 50.0}


def test_whole_floats_become_integers_only_when_asked_and_exact() -> None:
    read = loads_strict(b"[50.0, 0.0, -3.0, 2.5, 1e20]", whole_floats_as_int=True)
    assert read == [50, 0, -3, 2.5, 1e20]
    assert [type(v) for v in read] == [int, int, int, float, float]
