"""Field types shared by the podkit.toml sections."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from podkit.config.durations import parse_duration

Seconds = Annotated[float, BeforeValidator(parse_duration)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]


class Section(BaseModel):
    """Base of every podkit.toml section: unknown keys are errors, no type coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
