#!/usr/bin/env bash
# Run every fuzz target of fuzz/ for SECONDS each, one after the other (not in parallel:
# the machines have two cores shared with other work), at low priority.
#
#   tools/fuzz.sh SECONDS [TARGET...]      targets: frame trie bt wsframe wshttp wspath (default: all)
#
# With clang: libFuzzer + ASan + UBSan, coverage-guided. Without clang: the gcc fallback,
# fuzz/standalone.c's random mutator under ASan/UBSan (no coverage feedback, much weaker;
# install clang with `apt-get install -y clang` for real fuzzing).
#
# Seeds come from fuzz/corpus/<target>/ (read-only here); new interesting inputs go to
# $FUZZ_WORK/corpus/<target>/ and crashes to $FUZZ_WORK/artifacts/<target>/ (FUZZ_WORK
# defaults to /tmp/nanopy-fuzz; FUZZ_NICE sets the nice level, default 10). FUZZ_MERGE=1 merges the new inputs back into
# fuzz/corpus/<target>/ afterwards (minimised with -merge=1, so the committed corpus only
# grows by inputs that add coverage). A crash makes the script exit 1; replay it with
#   $FUZZ_WORK/bin/fuzz_<target> <crash file>
# and copy it to fuzz/regressions/<target>/ so tests/test_fuzz_regressions.py keeps it.
set -euo pipefail

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 SECONDS [frame|trie|bt|wsframe|wshttp|wspath ...]" >&2
    exit 2
fi
SECONDS_EACH=$1
shift
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(frame trie bt wsframe wshttp wspath)

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${FUZZ_WORK:-/tmp/nanopy-fuzz}
mkdir -p "$WORK/bin"
CSRC="$ROOT/csrc"

# What each target links besides itself (fuzz_trie includes trie.c; fuzz_bt needs the
# socket/pipe code np_bt_recv calls into, i.e. the whole core minus Python and its tests).
sources_for() {
    case $1 in
        frame) echo "$CSRC/transports/frame.c $CSRC/core/msg.c" ;;
        trie) echo "" ;;
        wsframe) echo "$CSRC/transports/ws_frame.c $CSRC/core/msg.c" ;;
        wshttp) echo "$CSRC/transports/ws_http.c" ;;
        wspath) echo "$CSRC/transports/ws_path.c" ;;
        bt) ls "$CSRC"/core/*.c "$CSRC"/platform/*.c "$CSRC"/protocols/*.c \
               "$CSRC"/transports/*.c | tr '\n' ' ' ;;
        *) echo "unknown target $1" >&2; exit 2 ;;
    esac
}

if command -v clang >/dev/null; then
    MODE=libfuzzer
    CC=clang
    FLAGS="-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
else
    MODE=standalone
    CC=gcc
    FLAGS="-g -O1 -std=gnu11 -fsanitize=address,undefined -fno-sanitize-recover=undefined"
    echo "clang not found: using the gcc random-mutation fallback (no coverage guidance)" >&2
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
summary=()
for t in "${TARGETS[@]}"; do
    bin="$WORK/bin/fuzz_$t"
    extra=()
    [ "$MODE" = standalone ] && extra=("$ROOT/fuzz/standalone.c")
    # shellcheck disable=SC2046
    $CC $FLAGS -I"$CSRC" -o "$bin" "$ROOT/fuzz/fuzz_$t.c" "${extra[@]}" $(sources_for "$t") -pthread
    seeds="$ROOT/fuzz/corpus/$t"
    out="$WORK/corpus/$t"
    art="$WORK/artifacts/$t"
    mkdir -p "$out" "$art"
    log="$WORK/fuzz_$t.log"
    echo "== fuzz_$t for ${SECONDS_EACH}s ($MODE), log $log"
    set +e
    # CPU time as well as wall time: at nice 10 on a shared machine the two differ.
    TIMEFORMAT='%U %S %R'
    { time {
        if [ "$MODE" = libfuzzer ]; then
            nice -n "${FUZZ_NICE:-10}" "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
                -print_final_stats=1 -artifact_prefix="$art/" "$out" "$seeds" >"$log" 2>&1
        else
            (cd "$art" && nice -n "${FUZZ_NICE:-10}" "$bin" -t "$SECONDS_EACH" -s "$RANDOM$RANDOM" "$seeds" \
                "$out") >"$log" 2>&1
        fi
    } ; } 2>"$log.time"
    rc=$?
    set -e
    cpu=$(awk '{printf "%.0f CPU-s (%.0f s wall)", $1 + $2, $3}' "$log.time")
    execs=$(grep -o 'number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
    crashes=$(find "$art" -type f | wc -l)
    summary+=("fuzz_$t: ${execs:-?} executions, $cpu, exit $rc, $crashes crash file(s) in $art")
    if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ]; then
        status=1
        grep -E 'ERROR|SUMMARY|fuzz_[a-z]+: ' "$log" | head -5 || true
    fi
    if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$MODE" = libfuzzer ]; then
        nice -n "${FUZZ_NICE:-10}" "$bin" -merge=1 "$seeds" "$out" >>"$log" 2>&1 || true
    fi
done
printf '%s\n' "${summary[@]}"
exit $status
