"""`[[smoke]]`: calls made against a freshly applied release to prove it works."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from podkit.config.types import Seconds, Section

JobStatus = Literal["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"]


class SmokeTest(Section):
    """One smoke test: an input, the final status expected, and checks on the output.

    `expect` maps dotted output paths (`gpus.0.name`, `status`) to the value they must
    equal; `expect_keys` lists dotted paths that must merely exist.
    """

    name: str = Field(min_length=1, max_length=80)
    input: dict[str, Any]
    expect_status: JobStatus = "COMPLETED"
    expect: dict[str, Any] = Field(default_factory=dict)
    expect_keys: list[str] = Field(default_factory=list)
    max_execution: Seconds = Field(default=300.0, gt=0, le=86400)
