"""A value given as `@path` on the command line (`--input @in.json`, `--data @body.json`): a
regular file (a FIFO would wait for ever, /dev/zero never end), or `@-` for standard input,
read up to the most the platform takes, each refusal naming the option and the file."""

from __future__ import annotations

import sys
from pathlib import Path

from podkit.config.syntax import NotAFile, read_at_most
from podkit.errors import ConfigError


def read_option_file(path: Path, option: str, limit: int, *, example: str, most: str) -> bytes:
    """The bytes of `path` for `option`; `example` names a file of the right kind
    (`path/to/input.json`), `most` what the limit is (`the most a job's input may be`)."""
    try:
        data = sys.stdin.buffer.read(limit + 1) if str(path) == "-" else read_at_most(path, limit)
    except NotAFile as exc:
        raise ConfigError(
            f"{option} file {path} is {exc.kind}, not a file",
            hint=f"give a file as {option} @{example}, or the value itself",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {option} file {path}: {exc.strerror or exc}",
            hint=f"give an existing file as {option} @{example}",
        ) from None
    if len(data) > limit:
        raise ConfigError(
            f"{option} file {path} is larger than {limit // 1_000_000} MB, {most}",
            hint="put large data in storage (a volume, a bucket) and send its path",
        )
    return data
