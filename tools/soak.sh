#!/usr/bin/env bash
# One process, many workloads, for a long time: REQ/REP, PUB/SUB, PUSH/PULL, SURVEYOR,
# BUS and PAIR over tcp, ipc and inproc, plus socket/endpoint churn and a child peer that
# is SIGKILLed and restarted. The process's RSS and open descriptor count are written to a
# CSV every SAMPLE seconds; the run passes (exit 0) when both are flat: the last sample
# within the margin stated in tools/soak.py of the first sample after the warm-up.
#
#   tools/soak.sh [DURATION_SECONDS] [CSV]     defaults: 3600 s, /tmp/nanopy-soak.csv
#
# SOAK_SAMPLE (default 60 s) and SOAK_WARMUP (default 60 s) change the sampling. Runs at
# low priority (nice) since the machines are shared.
set -euo pipefail

DURATION=${1:-3600}
CSV=${2:-/tmp/nanopy-soak.csv}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

exec nice -n 10 python "$ROOT/tools/soak.py" --duration "$DURATION" --csv "$CSV" \
    --sample "${SOAK_SAMPLE:-60}" --warmup "${SOAK_WARMUP:-60}"
