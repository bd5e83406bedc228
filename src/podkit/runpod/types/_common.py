"""Model bases: camelCase on the wire, open responses, closed requests."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# What an object id (endpoint, template, volume, registry, job) looks like: it goes into URL
# paths, so anything else ('..', '/', '?', spaces) is refused before a request is built.
OBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,127}")


def is_object_id(value: object) -> bool:
    """Whether `value` can be one path segment naming an object."""
    return isinstance(value, str) and OBJECT_ID.fullmatch(value) is not None


def shown_id(value: object) -> str:
    """An untrusted id as an error may quote it: clipped, control characters escaped."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


class Response(BaseModel):
    """A response object: unknown fields ignored (the schema changes without notice)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Request(BaseModel):
    """A request body: closed, like the server's schema (a stray field is a bug here)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
