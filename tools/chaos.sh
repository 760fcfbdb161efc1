#!/usr/bin/env bash
# Run the chaos and soak suite (tests/chaos) and print its figures: messages, cycles,
# RSS and open fds before/after, blocked-call wake-up times, CPU under fd exhaustion.
#
#   tools/chaos.sh [short|long] [extra pytest args...]
#
# short (default, what CI runs): the whole suite in under 4 minutes on two cores.
# long: the soak durations (30 s of connect/close churn at ~1,000 cycles/s, 60 s of 16
# threads on shared sockets, 10 kill/restart cycles per protocol pair, ...), ~25 minutes.
# The figures are also left in $CHAOS_REPORT (default /tmp/nanopy-chaos-<mode>.jsonl).
set -uo pipefail

MODE=${1:-short}
case $MODE in
    short|long) shift $(( $# > 0 ? 1 : 0 )) ;;
    *) echo "usage: $0 [short|long] [pytest args...]" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPORT=${CHAOS_REPORT:-/tmp/nanopy-chaos-$MODE.jsonl}
: > "$REPORT"

cd "$ROOT"
start=$(date +%s)
NANOPY_CHAOS=$MODE NANOPY_CHAOS_REPORT=$REPORT \
    python -m pytest tests/chaos -q -p no:cacheprovider "$@"
rc=$?
elapsed=$(( $(date +%s) - start ))

echo
echo "== chaos figures ($MODE mode, ${elapsed} s, pytest exit $rc) =="
python - "$REPORT" <<'PY'
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by_test: dict = {}
for row in rows:
    by_test.setdefault(row.pop("test"), []).append(row)
for test, items in by_test.items():
    print(f"-- {test}")
    for item in items:
        item.pop("mode", None)
        print("   " + ", ".join(f"{k}={v}" for k, v in item.items()))
PY
exit $rc
