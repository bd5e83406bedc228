"""Field types shared by the podkit.toml sections."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from podkit.config.durations import parse_duration

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_PROJECT = re.compile(r"^[a-z0-9][a-z0-9\-]{0,39}$")


def check_name(value: str) -> str:
    """A RunPod object name: letters, digits, '_', '.', '-', at most 64, no leading symbol."""
    if not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid name; use letters, digits, '_', '.' and '-' (at most 64, "
            "starting with a letter or digit)"
        )
    return value


def check_project(value: str) -> str:
    """A project name: it names every object podkit creates, so it stays plain."""
    if not _PROJECT.match(value):
        raise ValueError(
            f"{value!r} is not a valid project name; use lowercase letters, digits and '-' "
            "(at most 40, starting with a letter or digit)"
        )
    return value


Seconds = Annotated[float, BeforeValidator(parse_duration)]
Name = Annotated[str, AfterValidator(check_name)]
ProjectName = Annotated[str, AfterValidator(check_project)]


class Section(BaseModel):
    """Base of every podkit.toml section: unknown keys are errors, no type coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
