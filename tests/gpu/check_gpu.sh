#!/usr/bin/env bash
# Run on a machine with an NVIDIA GPU (not part of `make test`):
#   OUT=/some/dir bash tests/gpu/check_gpu.sh
# Saves the real nvidia-smi outputs as fixtures under $OUT/nvidia_smi/ (same names and format
# as tests/fixtures/nvidia_smi/), parses them with the worker's parser, and runs the worker's
# gpu_info through the real SDK (`--test_input`) when the runpod SDK is importable.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$(mktemp -d)}
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
mkdir -p "$OUT/nvidia_smi"
status=0

load_parser='import importlib.util as u, sys
spec = u.spec_from_file_location("nvidia_smi", "src/podkit/worker/nvidia_smi.py")
smi = u.module_from_spec(spec); spec.loader.exec_module(smi)'
query_args=$("$PY" -c "$load_parser
print(' '.join(smi.QUERY_ARGS))")

nvidia-smi >"$OUT/nvidia_smi/real.txt" 2>"$OUT/nvidia_smi/real.stderr" || status=1
# shellcheck disable=SC2086  # two separate arguments on purpose
nvidia-smi $query_args >"$OUT/nvidia_smi/real.csv" 2>>"$OUT/nvidia_smi/real.stderr" || status=1
nvidia-smi -q >"$OUT/nvidia_smi/real_query_all.txt" 2>/dev/null || true
echo "nvidia-smi: status $status; outputs in $OUT/nvidia_smi"

"$PY" - "$OUT" <<PYEOF >"$OUT/parsed.json" || status=1
$load_parser
import json, pathlib
out = pathlib.Path(sys.argv[1]) / "nvidia_smi"
plain, csv = (out / "real.txt").read_text(), (out / "real.csv").read_text()
gpus = smi.parse_query(csv)
print(json.dumps({"gpus": gpus, "cuda_version": smi.cuda_version(plain),
                  "driver_version": smi.driver_version(plain)}, indent=2))
assert gpus and all(g["name"] and g["memory_total_mib"] for g in gpus), "parser found no GPU"
PYEOF
cat "$OUT/parsed.json"

if "$PY" -c "import runpod, pydantic" 2>/dev/null; then
  RUNPOD_SKIP_AUTO_SYSTEM_CHECKS=true PODKIT_SKIP_CPUINFO=true PYTHONPATH=src \
    "$PY" -m podkit.worker --test_input '{"input": {"action": "gpu_info"}}' \
    >"$OUT/worker_gpu_info.log" 2>&1 || status=1
  grep -E "Job result|failed with error" "$OUT/worker_gpu_info.log" | cut -c1-400
else
  echo "runpod SDK not importable with $PY: worker run skipped (outputs and parser still checked)"
fi
exit "$status"
