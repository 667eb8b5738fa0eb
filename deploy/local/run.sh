#!/usr/bin/env bash
# Runs the whole system locally: services, build, migrations, demo data, web server and workers.
#   bash deploy/local/run.sh          start (or restart) everything and print where to open it
#   bash deploy/local/run.sh stop     stop the web server and workers (services keep running)
#   bash deploy/local/run.sh status   what runs
# Idempotent: running it again rebuilds, migrates, reloads the demo data (no duplicates) and
# restarts the programs.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
run_dir="$root/.run"
mkdir -p "$run_dir"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
# The programs run under a private supervisord with the production program definitions
# (supervisor/supervisord.conf, rendered by deploy/local/supervise.sh).
export OCPIZZA_RUN="$run_dir" OCPIZZA_BIN="$target_dir/debug" OCPIZZA_WORKDIR="$root"
supervise() { bash deploy/local/supervise.sh "$@"; }

case "${1:-start}" in
    stop) supervise stop; exit 0 ;;
    status) supervise ctl status 'ocpizza:*' || true; exit 0 ;;
    start) ;;
    *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

if [ ! -f .env ]; then
    cp .env.example .env
    # A fresh random secret for this machine; the example value is refused in production.
    secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    sed -i "s/^SECRET_KEY=.*/SECRET_KEY=$secret/" .env
    echo "created .env from .env.example"
fi
set -a; . ./.env; set +a

bash deploy/local/services.sh up
# A debug build: it shares the test suite's build and takes minutes less than a release build on
# a small machine. Production builds in release (deploy/install.sh).
echo "building…"
cargo build --bins --quiet
bin="$target_dir/debug"

"$bin/ocpizza" migrate
"$bin/ocpizza" feed-db -d deploy/demo/db_seed.csv

supervise start

url="http://${HOST}:${PORT}"
for _ in $(seq 1 100); do
    if curl -fsS "$url/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.2
done
if ! curl -fsS "$url/readyz" >/dev/null 2>&1; then
    echo "the web server did not become ready; last lines of $run_dir/web.log:" >&2
    tail -n 20 "$run_dir/web.log" >&2
    exit 1
fi
cat <<MSG

OC Pizza is running: open $url/
  readiness: $url/readyz   metrics: $url/metrics
  programs: bash deploy/local/run.sh status (logs in $run_dir/*.log; supervisorctl through
            bash deploy/local/supervise.sh ctl …)
  staff screens: $url/equipe (log in as one of the staff below)
  mail sink (maildev): http://127.0.0.1:1080/
Demo logins (password: ocpizza-demo)
  customer: client1@example.fr
  admin:    admin@ocpizza.fr
  manager:  gerant.paris-11@ocpizza.fr   counter: accueil.paris-11@ocpizza.fr
  pizzaiolo: pizzaiolo1.paris-11@ocpizza.fr   delivery: livreur1.paris-11@ocpizza.fr
Stop with: bash deploy/local/run.sh stop
MSG
