#!/usr/bin/env bash
# The whole test suite on a fresh Debian/Ubuntu machine: starts (installing if needed) the local
# services, then runs every test against them. Safe to run again; reuses what already runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/local/services.sh up
if ! command -v cargo-nextest >/dev/null 2>&1; then
    echo "installing cargo-nextest (one time)"
    cargo install --locked cargo-nextest
fi
# CI may point CARGO_TARGET_DIR at a shared directory; the harness finds binaries next to the tests.
exec cargo nextest run --workspace --no-fail-fast "$@"
