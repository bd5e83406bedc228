"""Model bases: camelCase on the wire, open responses, closed requests."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Response(BaseModel):
    """A response object: unknown fields ignored (the schema changes without notice)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Request(BaseModel):
    """A request body: closed, like the server's schema (a stray field is a bug here)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
