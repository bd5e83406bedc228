"""The one error the backend raises; each HTTP facade renders it in its own shape."""

from __future__ import annotations


class BackendError(Exception):
    """A request the platform would refuse.

    `status` is the HTTP status both generations use for it (400 rule, 404 missing, 409/422
    shape); `problems` lists each violation when there are several (schema validation).
    """

    def __init__(self, status: int, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = list(problems or [])


def not_found(kind: str, ident: str, listing: str) -> BackendError:
    """404 for an id that does not exist in the caller's account."""
    return BackendError(
        404,
        f"{kind} '{ident}' not found in this account; list yours with GET {listing}",
    )


def rule(message: str) -> BackendError:
    """400: the body is well formed but breaks a platform rule."""
    return BackendError(400, message)
