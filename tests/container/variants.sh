#!/usr/bin/env bash
# Builds "later versions" of ocpizza and ocpizza-worker for the install test (tests/it/install.rs)
# into <target>/debug/variants/{next,failing}: the same code with one more migration
# (db feature next-migration), and with one more that fails half-way (failing-migration).
# tests/run.sh calls it before its own `cargo build --workspace --bins`, which puts the plain
# binaries back in <target>/debug (cargo keeps both builds, so switching costs a link).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
for variant in next failing; do
    cargo build --locked -p web -p workers --bins --features "db/$variant-migration"
    mkdir -p "$target/debug/variants/$variant"
    for b in ocpizza ocpizza-worker; do
        install -m 755 "$target/debug/$b" "$target/debug/variants/$variant/$b"
    done
done
