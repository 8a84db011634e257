#!/usr/bin/env bash
# Runs every benchmark's --quick invocation (the commands in benchmarks/README.md), one after
# the other, with the results in a temporary folder (never benchmarks/results/), and says how
# long each took. A check that the benchmarks still run, not a measurement; not run in CI
# (a few minutes). Usage: benchmarks/smoke.sh [OUT_DIR]   (PYTHON=... picks the interpreter)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-$(mktemp -d "${TMPDIR:-/tmp}/ffmotion-smoke-XXXXXX")}"
mkdir -p "$out"
python="${PYTHON:-python}"
failed=0
n=0

step() {  # step MODULE [ARGS...]: python -m MODULE ARGS --quick --out OUT
    n=$((n + 1))
    local log="$out/step$n.log" started=$SECONDS
    if "$python" -m "$@" --quick --out "$out" >"$log" 2>&1; then
        printf '%4d s  ok      python -m %s --quick --out %s\n' $((SECONDS - started)) "$*" "$out"
    else
        printf '%4d s  FAILED  python -m %s --quick --out %s (log: %s)\n' \
            $((SECONDS - started)) "$*" "$out" "$log"
        tail -n 15 "$log" | sed 's/^/        /'
        failed=1
    fi
}

step benchmarks.bench
step benchmarks.bench_encoders
step benchmarks.bench_stabilize
step benchmarks.bench_chunks
step benchmarks.bench_live
if command -v chromium >/dev/null 2>&1 && "$python" -c "import playwright" 2>/dev/null; then
    step benchmarks.bench_preview
else
    echo "   -    skipped python -m benchmarks.bench_preview (needs Playwright and Chromium)"
fi
step benchmarks.measure_outputs vp9
step benchmarks.measure_outputs gif
step benchmarks.verify_looks
echo "results and logs: $out"
exit $failed
