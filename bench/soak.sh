#!/usr/bin/env bash
# The soak: the whole stack under a steady stream of orders while workers are killed, RabbitMQ
# restarted and SMTP stopped in turn, then every order reconciled and the memory of the web
# server and the relay compared (tests/src/bin/soak.rs). Needs what the tests need (MariaDB and
# RabbitMQ running locally, as `bash deploy/local/services.sh up` leaves them).
#   bash bench/soak.sh            # 10 minutes
#   bash bench/soak.sh 120        # before a release (docs/operations.md)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-10}"
bash deploy/local/services.sh up >/dev/null
cargo build --quiet --workspace --bins
exec cargo run --quiet -p ocpizza-tests --bin soak -- --minutes "$minutes"
