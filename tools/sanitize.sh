#!/usr/bin/env bash
# Build the extension with AddressSanitizer + UndefinedBehaviorSanitizer into a separate
# directory and run the Python tests against it.
#
#   tools/sanitize.sh [PYTEST ARGS...]     default: the suites listed in DEFAULT_TESTS
#
# Nothing in the source tree changes: the build goes to $SAN_BUILD (default
# /tmp/nanopy-san) via `setup.py build_ext --build-lib/--build-temp`, the Python files of
# the package are copied next to the built module, and PYTHONPATH puts that copy ahead of
# the editable install. (Cython may refresh the generated src/nanopy/_core.c, a build
# artefact that is not in git.)
#
# Two passes:
#  1. errors: ASAN_OPTIONS=detect_leaks=0. An invalid read/write, use-after-free, double
#     free or UB in our C code aborts the test process with a stack trace (in the log).
#  2. leaks (SAN_LEAKS=0 skips it): the same tests with LeakSanitizer on. The interpreter
#     itself leaves many blocks behind at exit, and an LSan suppression cannot separate
#     them from ours (every stack of ours also runs through the interpreter), so instead
#     the report is filtered: a leak counts when one of its allocation frames is in
#     csrc/ or in the Cython module other than its import-time init. PYTHONMALLOC=malloc
#     makes Python objects visible to LSan as individual blocks.
# Logs: $SAN_BUILD/errors.log, $SAN_BUILD/leaks.log, $SAN_BUILD/leaks-ours.txt.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SAN_BUILD:-/tmp/nanopy-san}
# The real interpreter, not a wrapper script (pyenv shims are bash: preloading libasan
# into them only adds bash's own leaks to the report).
PY=$("${PYTHON:-python}" -c 'import sys; print(sys.executable)')
DEFAULT_TESTS=(tests/test_smoke.py tests/test_pair.py tests/test_reqrep.py
    tests/test_pubsub.py tests/test_pipeline.py tests/test_survey.py tests/test_bus.py
    tests/test_hostile.py tests/test_options.py tests/test_raw_headers.py
    tests/test_device.py tests/test_noloss.py tests/test_term.py tests/test_socket_api.py)
if [ $# -gt 0 ]; then TESTS=("$@"); else TESTS=("${DEFAULT_TESTS[@]}"); fi

SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -g"
mkdir -p "$BUILD/lib" "$BUILD/tmp"
echo "== building the ASan/UBSan extension into $BUILD"
(cd "$ROOT" && NANOPY_CFLAGS="$SAN -O1" NANOPY_LDFLAGS="-fsanitize=address,undefined" \
    nice -n 5 "$PY" setup.py -q build_ext --build-lib "$BUILD/lib" --build-temp "$BUILD/tmp" \
    >"$BUILD/build.log" 2>&1) || { tail -30 "$BUILD/build.log"; exit 2; }
# The package's Python files next to the sanitized module (not the in-place .so).
(cd "$ROOT/src" && tar cf - --exclude='*.so' --exclude='__pycache__' --exclude='*.c' nanopy) |
    (cd "$BUILD/lib" && tar xf -)

LIBASAN=$(gcc -print-file-name=libasan.so)
run() {  # run ASAN_OPTIONS LOG PYTEST-ARGS...
    local opts=$1 log=$2
    shift 2
    (cd "$ROOT" && env LSAN_OPTIONS="${LSAN_OPTIONS:-}" LD_PRELOAD="$LIBASAN" PYTHONPATH="$BUILD/lib" PYTHONMALLOC=malloc \
        ASAN_OPTIONS="$opts" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        nice -n 5 "$PY" -m pytest -q -p no:cacheprovider "$@") >"$log" 2>&1
}

# The build really is the sanitized one: the module resolves from $BUILD and links libasan.
where=$(cd "$ROOT" && env LD_PRELOAD="$LIBASAN" PYTHONPATH="$BUILD/lib" ASAN_OPTIONS=detect_leaks=0 \
    "$PY" -c 'import nanopy._core as c; print(c.__file__)')
case $where in
    "$BUILD"/*) echo "   module: $where" ;;
    *) echo "sanitized module not picked up (got $where)"; exit 2 ;;
esac

echo "== pass 1: memory errors and UB (${TESTS[*]})"
run "detect_leaks=0:abort_on_error=0:print_summary=1:log_exe_name=1" "$BUILD/errors.log" \
    "${TESTS[@]}"
rc1=$?
tail -3 "$BUILD/errors.log"
if grep -qE 'ERROR: AddressSanitizer|runtime error:' "$BUILD/errors.log"; then
    echo "!! sanitizer reports in $BUILD/errors.log:"
    grep -E -A25 'ERROR: AddressSanitizer|runtime error:' "$BUILD/errors.log" | head -80
    rc1=1
fi

rc2=0
if [ "${SAN_LEAKS:-1}" = 1 ]; then
    echo "== pass 2: leaks in our code"
    rm -f "$BUILD"/lsan.*
    # use_tls=0: gcc 12's LeakSanitizer crashes ("Tracer caught signal 11", then a fatal
    # error and exit 1 in every process that started the I/O thread) when it scans that
    # thread's dynamic TLS block, which exists because the dlopen'ed module has a __thread
    # variable (loop.c in_loop_thread); nothing of ours is kept only in TLS, so skipping
    # TLS roots costs no false reports. exitcode=0: this pass collects reports, pass 1
    # already judged the tests, and subprocess-based tests check their child's exit code.
    LSAN_OPTIONS=use_tls=0 \
    run "detect_leaks=1:exitcode=0:log_path=$BUILD/lsan:malloc_context_size=25" \
        "$BUILD/leaks.log" "${TESTS[@]}"
    if grep -l 'LeakSanitizer has encountered a fatal error' "$BUILD"/lsan.* >/dev/null 2>&1; then
        echo "!! LeakSanitizer itself failed in some processes: their leaks are unknown"
    fi
    # Keep the leak records whose stack reaches csrc/ or the Cython module, except the
    # module's own one-time init (module-level objects live until the process dies).
    cat "$BUILD"/lsan.* 2>/dev/null | awk -v out="$BUILD/leaks-ours.txt" '
        /^(Direct|Indirect) leak/ { if (rec != "" && ours && !init) print rec > out;
                                    rec = $0; ours = 0; init = 0; next }
        /^SUMMARY/ { if (rec != "" && ours && !init) print rec > out; rec = ""; next }
        rec != "" { rec = rec "\n" $0
                    if ($0 ~ / in (np_|__pyx_)|\/csrc\/|\/_core\.c:|_core\.pyx|_core\.cpython/) ours = 1
                    if ($0 ~ /__pyx_pymod_(exec|create)|PyInit__core|_dl_allocate_tls/) init = 1 }
        END { if (rec != "" && ours && !init) print rec > out }'
    if [ -s "$BUILD/leaks-ours.txt" ]; then
        echo "!! leaks reaching our code ($BUILD/leaks-ours.txt):"
        grep -cE '^(Direct|Indirect) leak' "$BUILD/leaks-ours.txt"
        head -60 "$BUILD/leaks-ours.txt"
        rc2=1
    else
        echo "   no leak record reaches csrc/ or the Cython module"
    fi
fi
exit $(( rc1 || rc2 ))
