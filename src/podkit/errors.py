"""The whole podkit exception tree.

Every error a user can cause is a `PodkitError`: the CLI prints its message (one actionable
line, plus the hint) and exits 1. Anything else escaping is a bug and shows a traceback.
Messages name the file, field or remote object, what went wrong and what to do next; they
never carry a secret value.
"""

from __future__ import annotations


class PodkitError(Exception):
    """A failure the user can act on."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigError(PodkitError):
    """podkit.toml (or another input file) is missing, malformed or invalid."""


class ApiError(PodkitError):
    """The RunPod API (or the local RunPod) refused or failed a request."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.method = method
        self.url = url


class AuthError(ApiError):
    """No API key, or the key was refused (401/403)."""


class NotFoundError(ApiError):
    """The remote object does not exist (404)."""


class RateLimitError(ApiError):
    """Still rate limited (429) after all retries."""


class TransportError(ApiError):
    """The server could not be reached, or timed out, after all retries."""


class InvalidRequestError(ApiError):
    """The server rejected the request body or a business rule (400, 402, 409, 422)."""


class ServerError(ApiError):
    """The server failed (5xx) after all retries, or answered with something unreadable."""


class PreflightError(PodkitError):
    """A check before any write failed; nothing was changed."""


class DeployError(PodkitError):
    """An apply, verify, rollback or destroy step failed."""


class JobError(PodkitError):
    """A serverless job failed, timed out, was cancelled or could not be fetched."""


class WorkerInputError(PodkitError):
    """A job's input is invalid (unknown action, bad field, unsafe path)."""


class TransferError(PodkitError):
    """A model sync could not fetch, verify or place a file."""


class EmulatorError(PodkitError):
    """The local RunPod could not start or is misconfigured."""


class WorkerActionError(PodkitError):
    """A worker action could not do its job (no GPU driver, a failing tool, a missing root)."""


class JobExpiredError(JobError):
    """A job is gone from the data plane: it outlived its TTL or its result retention."""


class JobWaitTimeout(JobError):
    """podkit stopped waiting for a job that is still queued or running remotely."""

    def __init__(
        self, message: str, *, job_id: str, hint: str | None = None, status: str = ""
    ) -> None:
        super().__init__(message, hint=hint)
        self.job_id = job_id
        self.status = status  # what the job was when podkit stopped waiting


class Interrupted(BaseException):
    """Ctrl-C, after the command said what it left behind (the job that keeps running, the
    writes that stay). Not a KeyboardInterrupt: nothing on its way out takes it for a fresh
    one, and the entry point adds no line of its own (only the `--json` error document).

    `said=False`: Ctrl-C that no command explained; the entry point says "interrupted".
    """

    def __init__(self, *, said: bool = True) -> None:
        super().__init__()
        self.said = said
