"""Inline secrets of `worker.env`: shown as `(sensitive)`, recorded as keyed fingerprints.

A value under a secret-looking env name (or one that looks like a token) is sensitive: plans
show `(sensitive)` in place of it, and the deploy history stores its fingerprint,
`hmac-sha256:<key id>:<hex>`, never the value. `podkit rollback` puts the current
podkit.toml's value back in when its fingerprint matches the record's, and stops otherwise.

Why a keyed hash: a plain hash of a short secret in a committed history file could be
brute-forced offline. The HMAC key is, in order:

- `PODKIT_FINGERPRINT_KEY`, when set (share it between CI and laptops through their
  secret stores so that every machine computes the same fingerprints);
- else derived from the RunPod API key and the project (HMAC of the project name keyed
  with the API key). Whoever can brute-force such a fingerprint already holds the API key,
  and with it the endpoint's env in plain text: the history adds nothing to what they have.

Neither is ever stored next to a fingerprint. The key id (a hash of the key) tells "another
key" apart from "another value" when a rollback cannot match.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from podkit.deploy.model import DesiredState, Resource
from podkit.errors import DeployError
from podkit.secret_shapes import is_inline_secret

PREFIX = "hmac-sha256:"
KEY_ENV = "PODKIT_FINGERPRINT_KEY"


@dataclass(frozen=True)
class Fingerprinter:
    """Keyed fingerprints of sensitive values; `repr` never shows the key."""

    key: bytes
    source: str

    @classmethod
    def for_project(
        cls, api_key: str, project: str, environ: Mapping[str, str] | None = None
    ) -> Fingerprinter:
        """The key from `PODKIT_FINGERPRINT_KEY`, else derived from the API key."""
        env = os.environ if environ is None else environ
        explicit = env.get(KEY_ENV, "").strip()
        if explicit:
            return cls(hashlib.sha256(explicit.encode()).digest(), KEY_ENV)
        derived = hmac.new(api_key.encode(), f"podkit fingerprint|{project}".encode(), "sha256")
        return cls(derived.digest(), "the RunPod API key")

    def __repr__(self) -> str:
        return f"Fingerprinter(key_id={self.key_id!r}, source={self.source!r})"

    @property
    def key_id(self) -> str:
        return hmac.new(self.key, b"podkit key id", "sha256").hexdigest()[:8]

    def __call__(self, value: str) -> str:
        digest = hmac.new(self.key, value.encode(), "sha256").hexdigest()
        return f"{PREFIX}{self.key_id}:{digest}"

    def matches(self, fingerprint: str, value: str) -> bool:
        return hmac.compare_digest(fingerprint, self(value))


def is_fingerprint(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def is_sensitive(field: str, value: object) -> bool:
    """Whether a resource field holds an inline secret (an `env.*` value)."""
    if not field.startswith("env.") or not isinstance(value, str):
        return False
    return is_fingerprint(value) or is_inline_secret(field[4:], value)


def sensitive_fields(resource: Resource) -> frozenset[str]:
    return frozenset(k for k, v in resource.fields.items() if is_sensitive(k, v))


def fingerprinted(fields: Mapping[str, Any], fingerprint: Fingerprinter) -> dict[str, Any]:
    """`fields` with every inline secret replaced by its fingerprint."""
    return {
        k: fingerprint(v) if is_sensitive(k, v) and not is_fingerprint(v) else v
        for k, v in fields.items()
    }


def throwaway() -> Fingerprinter:
    """A random key kept nowhere: its fingerprints can never be matched (nor reversed)."""
    return Fingerprinter(secrets.token_bytes(32), "a random key kept nowhere")


def restore(
    desired: DesiredState,
    current_env: Mapping[str, str],
    fingerprint: Fingerprinter,
    number: int,
) -> DesiredState:
    """The recorded state with each fingerprint replaced by the current config's value.

    Raises `DeployError` naming the key when podkit.toml no longer holds the recorded value.
    """
    resources = tuple(
        _restore_resource(r, current_env, fingerprint, number) for r in desired.resources
    )
    return DesiredState(desired.scope, desired.api, desired.image, resources)


def _restore_resource(
    r: Resource, current_env: Mapping[str, str], fingerprint: Fingerprinter, number: int
) -> Resource:
    fields = dict(r.fields)
    for field, value in r.fields.items():
        if is_fingerprint(value):
            fields[field] = _value_for(field, str(value), current_env, fingerprint, number)
    return Resource(
        r.kind, r.name, fields, r.secret_fields | sensitive_fields(r), r.write_only, r.id, r.owner
    )


def _value_for(
    field: str, recorded: str, current_env: Mapping[str, str], fp: Fingerprinter, number: int
) -> str:
    key = field.removeprefix("env.")
    value = current_env.get(key)
    if value is not None and fp.matches(recorded, value):
        return value
    recorded_kid = recorded.removeprefix(PREFIX).partition(":")[0]
    why = (
        f"its fingerprint was made with another key (id {recorded_kid}; this run's is "
        f"{fp.key_id}, from {fp.source})"
        if recorded_kid != fp.key_id
        else "podkit.toml no longer holds that value"
        if value is not None
        else "podkit.toml no longer sets it"
    )
    raise DeployError(
        f"history record #{number} sets worker.env.{key} inline and podkit cannot restore it: "
        f"{why}",
        hint=f"move {key} to worker.secrets (a RunPod secret): records made after that roll "
        f"back without its value; or set worker.env.{key} back to the value record #{number} "
        "ran with" + (f" and use the same {KEY_ENV}" if recorded_kid != fp.key_id else ""),
    )
