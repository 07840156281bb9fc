#!/usr/bin/env bash
# Installs the tool chain of the FFI tests when missing; idempotent (each
# step is skipped when its tool is already there), non-interactive, for a
# fresh Debian machine as root (CI) or a developer machine.
#   apt:   clang (+ its sanitizer runtime), valgrind, golang-go, pkg-config
#   cargo: cbindgen, pinned to the version that generated include/smile.h
# Python 3 (ctypes, no numpy) and gcc/g++ are on the machine already.
set -euo pipefail

CBINDGEN_VERSION=0.29.4

need_apt=()
# The sanitizer runtime is only a Recommends of clang on Debian 12, so it is
# named explicitly (apt runs with --no-install-recommends).
command -v clang >/dev/null 2>&1 || need_apt+=(clang libclang-rt-14-dev)
if command -v clang >/dev/null 2>&1 &&
   ! echo 'int main(void){return 0;}' | clang -x c -fsanitize=address,undefined -o /dev/null - >/dev/null 2>&1; then
  need_apt+=(libclang-rt-14-dev)
fi
command -v valgrind >/dev/null 2>&1 || need_apt+=(valgrind)
command -v go >/dev/null 2>&1 || need_apt+=(golang-go)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ffi-tests/install-deps: missing ${need_apt[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "ffi-tests/install-deps: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" </dev/null >/dev/null
fi

if [ "$(cbindgen --version 2>/dev/null || true)" != "cbindgen $CBINDGEN_VERSION" ]; then
  echo "ffi-tests/install-deps: cargo install cbindgen $CBINDGEN_VERSION"
  cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --quiet
fi
