#!/usr/bin/env bash
# Installs what `make test` needs and a fresh machine may lack: the embedded
# Rust target, and (through ffi-tests/install-deps.sh, when present) the C,
# Go and Python tool chain of the FFI tests. Idempotent: every step is skipped
# when its tool is already there, so `make test` can call it every time.
set -euo pipefail
cd "$(dirname "$0")/.."

EMBEDDED_TARGET="${EMBEDDED_TARGET:-thumbv7em-none-eabihf}"
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx "$EMBEDDED_TARGET"; then
    echo "install-deps: rustup target add $EMBEDDED_TARGET"
    rustup target add "$EMBEDDED_TARGET"
  fi
  # `make test` checks the formatting (rustfmt.toml); minimal rustup profiles lack rustfmt.
  if ! cargo fmt --version >/dev/null 2>&1; then
    echo "install-deps: rustup component add rustfmt"
    rustup component add rustfmt
  fi
else
  echo "install-deps: rustup not found; the embedded build needs the $EMBEDDED_TARGET target" >&2
fi

if [ -f ffi-tests/install-deps.sh ]; then
  bash ffi-tests/install-deps.sh
fi
