#!/usr/bin/env bash
# Memcheck a representative subset of the Python tests against a debug (-O1 -g, no
# sanitizer) build of the extension.
#
#   tools/valgrind.sh [PYTEST ARGS...]     default: tests/test_smoke.py
#
# Complements tools/sanitize.sh: valgrind needs no rebuild with instrumentation, sees
# reads of uninitialised memory (ASan does not) and checks the I/O thread as it really
# runs. The build goes to $VG_BUILD (default /tmp/nanopy-vg) as in sanitize.sh, so the
# in-place module stays untouched.
#
# Python noise: PYTHONMALLOC=malloc makes the interpreter use malloc for every object, so
# pymalloc's deliberate reads of arena headers stop showing as errors, and Debian's
# python3.supp covers some more. A locally built CPython still shows its own reports
# (uninitialised-value uses in longobject.c, 32-byte vector reads in string functions),
# so a record counts only when its stack (or the allocation/origin stack printed with
# it) has a frame of ours: an np_* or __pyx_* function, csrc/, or the module itself;
# records from the module's import-time init are left out (kept until exit on purpose).
# Logs: $VG_BUILD/valgrind.<pid>.log (raw, one per process), $VG_BUILD/findings.txt.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VG_BUILD:-/tmp/nanopy-vg}
PY=$("${PYTHON:-python}" -c 'import sys; print(sys.executable)')
if [ $# -gt 0 ]; then TESTS=("$@"); else TESTS=(tests/test_smoke.py); fi
command -v valgrind >/dev/null || { echo "valgrind not installed (apt-get install valgrind)"; exit 2; }

mkdir -p "$BUILD/lib" "$BUILD/tmp"
rm -f "$BUILD"/valgrind.*.log "$BUILD/findings.txt"
echo "== building a debug extension into $BUILD"
(cd "$ROOT" && NANOPY_CFLAGS="-O1 -g -fno-omit-frame-pointer" \
    nice -n 5 "$PY" setup.py -q build_ext --build-lib "$BUILD/lib" --build-temp "$BUILD/tmp" \
    >"$BUILD/build.log" 2>&1) || { tail -30 "$BUILD/build.log"; exit 2; }
(cd "$ROOT/src" && tar cf - --exclude='*.so' --exclude='__pycache__' --exclude='*.c' nanopy) |
    (cd "$BUILD/lib" && tar xf -)

SUPP=()
for f in /usr/lib/valgrind/python3.supp /usr/lib/x86_64-linux-gnu/valgrind/python3.supp; do
    [ -f "$f" ] && SUPP+=("--suppressions=$f")
done

echo "== memcheck: ${TESTS[*]}"
(cd "$ROOT" && env PYTHONPATH="$BUILD/lib" PYTHONMALLOC=malloc \
    nice -n 5 valgrind --tool=memcheck "${SUPP[@]}" --leak-check=full \
    --show-leak-kinds=definite,indirect,possible --num-callers=30 --track-origins=yes \
    --log-file="$BUILD/valgrind.%p.log" \
    "$PY" -m pytest -q -p no:cacheprovider -p no:timeout "${TESTS[@]}") \
    >"$BUILD/pytest.log" 2>&1
rc=$?
tail -3 "$BUILD/pytest.log"
grep -h 'ERROR SUMMARY' "$BUILD"/valgrind.*.log

# Split the log into records (blank "==pid== " lines separate them) and keep errors, and
# leaks that reach our code.
awk -v out="$BUILD/findings.txt" '
    function flush() {
        if (rec == "") return
        if (ours && (err || (leak && !init))) print rec "\n" > out
        rec = ""; err = 0; leak = 0; ours = 0; init = 0
    }
    { line = $0; sub(/^==[0-9]+== ?/, "", line) }
    line == "" { flush(); next }
    {
        if (rec == "") {
            if (line ~ /^(Invalid |Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Argument .* of function)/) err = 1
            else if (line ~ /are (definitely|indirectly|possibly) lost/) leak = 1
            else if (line !~ /^ *(at|by) /) { next }
        }
        rec = rec "\n" line
        if (line ~ /: (np_|__pyx_)|\/csrc\/|\(_core\.c:|_core\.pyx|_core\.cpython/) ours = 1
        # Module init, and the stack/TLS of the running I/O thread (a detached thread that
        # lives until exit by design) are not leaks.
        if (line ~ /__pyx_pymod_(exec|create)|PyInit__core|_dl_allocate_tls/) init = 1
    }
    END { flush() }' "$BUILD"/valgrind.*.log
: >>"$BUILD/findings.txt"
if [ -s "$BUILD/findings.txt" ]; then
    echo "!! findings ($BUILD/findings.txt):"
    head -120 "$BUILD/findings.txt"
    exit 1
fi
echo "   no memory errors, no leaks reaching csrc/ or the Cython module"
exit $rc
