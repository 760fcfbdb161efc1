#!/usr/bin/env bash
# Compile the whole C core (csrc/, no Python headers) for other platforms with warnings as
# errors, then link it into a shared library that may leave no symbol undefined, so a call to
# a function the target's libc lacks fails here, not on a user's machine.
#
# zig's C compiler (`python -m ziglang cc`, from PyPI) carries the headers and libc stubs of
# every target below, macOS's included, so nothing else has to be installed.
#
# Usage: tools/cross_compile_check.sh [TARGET...]
#   TARGET: a zig target triple; default: x86_64-macos aarch64-macos x86_64-linux-musl
#           aarch64-linux-gnu.2.17 x86_64-linux-gnu.2.17
# Environment: PYTHON (the interpreter with the ziglang package; default python3),
#   CROSS_CFLAGS (extra compiler flags).
# Exit status: 0 when every target compiled and linked; otherwise 1, after trying them all.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(x86_64-macos aarch64-macos x86_64-linux-musl aarch64-linux-gnu.2.17
           x86_64-linux-gnu.2.17)
fi
"$PY" -c 'import ziglang' 2>/dev/null \
  || { echo "cross_compile_check.sh: the ziglang package is missing (pip install ziglang)" >&2
       exit 2; }
WORK="$(mktemp -d /tmp/nanopy-cross.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# The core's sources as setup.py lists them: every .c under csrc/ except the unit tests.
mapfile -t SOURCES < <(cd "$ROOT" && find csrc -name '*.c' -not -path 'csrc/tests/*' | sort)
[ ${#SOURCES[@]} -gt 0 ] || { echo "cross_compile_check.sh: no csrc/*.c found" >&2; exit 2; }
# The flags of setup.py, with every warning an error. CROSS_CFLAGS is split on purpose.
# shellcheck disable=SC2206
CFLAGS=(-O2 -std=gnu11 -Wall -Wno-unused-function -Werror -fPIC -Icsrc ${CROSS_CFLAGS:-})
JOBS="$(nproc 2>/dev/null || echo 2)"
echo "zig $("$PY" -m ziglang version); ${#SOURCES[@]} C files; flags: ${CFLAGS[*]}"

failed=()
for target in "${TARGETS[@]}"; do
  dir="$WORK/$target"
  mkdir -p "$dir"
  # One compiler per core: each file writes its object, or its log when it fails.
  printf '%s\n' "${SOURCES[@]}" | (cd "$ROOT" && xargs -P "$JOBS" -I{} sh -c '
      log="$1/$(echo "$2" | tr / _).log"
      "$3" -m ziglang cc -target "$4" $5 -c "$2" -o "${log%.log}.o" > "$log" 2>&1 \
        && rm -f "$log"' sh "$dir" {} "$PY" "$target" "${CFLAGS[*]}")
  errors=0
  objects=()
  for src in "${SOURCES[@]}"; do
    obj="$dir/$(echo "$src" | tr / _).o"
    if [ -e "${obj%.o}.log" ] || [ ! -e "$obj" ]; then
      errors=$((errors + 1))
      echo "--- $target: $src"
      grep -E 'error|warning' "${obj%.o}.log" 2>/dev/null | head -8
    fi
    objects+=("$obj")
  done
  if [ "$errors" -gt 0 ]; then
    echo "FAIL $target: $errors of ${#SOURCES[@]} files did not compile"
    failed+=("$target")
    continue
  fi
  # Link: no undefined symbol may remain (macOS's linker refuses them by default).
  case "$target" in
    *macos*) lib="$dir/libnanopy_core.dylib"; link=(-dynamiclib) ;;
    *) lib="$dir/libnanopy_core.so"; link=(-shared -Wl,-z,defs -pthread) ;;
  esac
  if ! "$PY" -m ziglang cc -target "$target" "${link[@]}" -o "$lib" "${objects[@]}" \
       > "$dir/link.log" 2>&1; then
    echo "--- $target: link"
    head -20 "$dir/link.log"
    echo "FAIL $target: the core does not link"
    failed+=("$target")
    continue
  fi
  echo "ok   $target: ${#SOURCES[@]} files compiled with -Werror, linked ($(stat -c %s "$lib") bytes)"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "cross_compile_check.sh: failed for ${failed[*]}"
  exit 1
fi
echo "cross_compile_check.sh: all ${#TARGETS[@]} targets passed"
