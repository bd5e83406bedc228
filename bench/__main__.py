"""Run every benchmark module in bench/ (each exposes `main() -> None`)."""

import importlib
import pkgutil
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).parent


def main() -> None:
    only = set(sys.argv[1:])
    for info in sorted(pkgutil.iter_modules([str(BENCH_DIR)]), key=lambda m: m.name):
        if not info.name.startswith("bench_") or (only and info.name not in only):
            continue
        print(f"== {info.name}", flush=True)
        importlib.import_module(f"bench.{info.name}").main()


if __name__ == "__main__":
    main()
