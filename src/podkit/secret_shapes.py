"""What a secret looks like: names of keys that hold one, and the shapes of known tokens.

The one place that decides "this looks secret"; config validation, the plan's `(sensitive)`
fields and output redaction all ask here.
"""

from __future__ import annotations

import re

# Env or field names whose values are secrets (AWS_SECRET_ACCESS_KEY, HF_TOKEN, DB_PASSWORD...).
SECRET_KEY_NAME = re.compile(
    r"(TOKEN|SECRET|PASSWORD|PASSWD|\bPASS\b|_PASS$|^PASS_|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|"
    r"CREDENTIAL|AUTH|SESSION_?KEY|SIGNATURE|COOKIE|(?:^|_)KEY$)",
    re.IGNORECASE,
)

# Known token shapes, matched anywhere in a text.
TOKEN_SHAPES: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bhf_[A-Za-z0-9]{20,}"),  # Hugging Face
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),  # GitHub classic tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),  # GitHub fine-grained tokens
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key ids
    re.compile(r"\brpa_[A-Za-z0-9]{20,}"),  # RunPod API keys
    re.compile(r"\bsk-[A-Za-z0-9_\-]{20,}"),  # OpenAI-style keys
    re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}"),  # GitLab
    re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),  # Slack
    re.compile(r"\bya29\.[A-Za-z0-9_\-]{20,}"),  # Google OAuth access tokens
    re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),  # JWTs
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S
    ),
)
# All of them in one pattern: one pass over a long text instead of one per shape.
ANY_TOKEN = re.compile("|".join(f"(?:{shape.pattern})" for shape in TOKEN_SHAPES), re.S)


# Query parameters that carry a credential (signed URLs, tokens in links).
CREDENTIAL_PARAMS = (
    "api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|token|"
    "key|sig|signature|password|passwd|pass|pwd|secret|client[_-]?secret|auth|credential|"
    "session[_-]?token|x-amz-signature|x-amz-credential|x-amz-security-token|"
    "x-goog-signature|x-goog-credential|x-goog-security-token"
)
URL_CREDENTIALS = re.compile(
    rf"://[^/?#@\s:]*:[^/?#@\s]+@|[?&;](?:{CREDENTIAL_PARAMS})=[^&;#\s]", re.IGNORECASE
)


def has_url_credentials(value: str) -> bool:
    """True for a text holding a URL with a password (`user:pass@`) or a credential query."""
    return bool(URL_CREDENTIALS.search(value))


def is_secret_key_name(name: str) -> bool:
    """True for a key or env name whose value should be treated as a secret."""
    return bool(SECRET_KEY_NAME.search(name))


def looks_like_token(value: str) -> bool:
    """True when the value contains a known token shape (hf_, ghp_, AKIA, rpa_, sk-, PEM...)."""
    return ANY_TOKEN.search(value) is not None


def looks_like_secret_value(value: str) -> bool:
    """True for a value that is a secret rather than a name or reference to one.

    A known token shape, a PEM block, or a long high-entropy string: 32+ characters of the
    base64/URL-safe alphabet mixing three of lower case, upper case, digits and `+`/`=`, with a
    run of 16+ characters between separators. Paths and model names (`/runpod-volume/...`,
    `Llama-3.1-8B-Instruct-Q4_K_M.gguf`) are made of short words and do not count.
    """
    text = value.strip()
    if looks_like_token(text):
        return True
    if len(text) < 32 or not re.fullmatch(r"[A-Za-z0-9+/=_\-.]+", text):
        return False
    kinds = sum(
        bool(re.search(pattern, text)) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[+=]")
    )
    longest = max(len(part) for part in re.split(r"[/_\-.]", text))
    return kinds >= 3 and longest >= 16


def is_inline_secret(name: str, value: str) -> bool:
    """True for an env entry that holds a secret value inline (not a `{{ RUNPOD_SECRET_x }}`
    reference): a secret-looking name with a value, a secret-looking value under any name, or
    a URL carrying credentials."""
    text = value.strip()
    if not text or text.startswith("{{"):
        return False
    return is_secret_key_name(name) or looks_like_secret_value(text) or has_url_credentials(text)
