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
# Gates first: formatting and lints (warnings are errors), as CI enforces them.
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The integration tests run the real programs (ocpizza, ocpizza-worker); cargo builds a binary for
# tests of its own package only, so build them first. CI may point CARGO_TARGET_DIR at a shared
# directory; the harness finds the binaries next to the test executables.
# The install test also needs later versions of the binaries (one more migration, one failing).
bash tests/container/variants.sh
cargo build --workspace --bins
exec cargo nextest run --workspace --no-fail-fast "$@"
