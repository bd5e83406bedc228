#!/usr/bin/env bash
# Installs the system packages the tests need (Debian, as root) when they are missing.
# Python-side parts (storage emulators, linters) come from the venv's own extras.
set -euo pipefail
# System packages the tests and benchmarks need; one per line, add yours.
wanted=(
  nginx    # model sync: HTTPS, Hugging Face-style mirror, per-connection throttling
  aria2    # model sync: benchmark peer (make bench)
  openssl  # model sync: self-signed certificate for the HTTPS origin
  curl     # load balancer: the curl commands of `podkit ci summary` are run
)
packages=()
for pkg in "${wanted[@]}" "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || packages+=("$pkg")
done
if [ "${#packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${packages[*]} (run as root or install them)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi
