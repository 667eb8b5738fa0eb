#!/usr/bin/env bash
# Runs the load benchmark end to end and writes the results into docs/performance.md:
# a release build, a dedicated database (ocpizza_bench) and RabbitMQ vhost loaded with the demo
# data (every pizzeria open all day, stock topped up), the web server and workers under a private
# supervisord with the production program definitions, then ocpizza-bench against it.
#
#   bash bench/run.sh                          30 s, 16 customers as fast as possible
#   bash bench/run.sh --rate 20 --duration 60  20 orders/s offered for 60 s
#   (any ocpizza-bench option; see: target/release/ocpizza-bench --help)
#   BENCH_PROFILE=debug bash bench/run.sh      skip the ~9 min release build (slower numbers)
#
# Leaves nothing behind: the stack stops, the database and vhost are dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
profile="${BENCH_PROFILE:-release}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
bin="$target_dir/$profile"
run="$root/.run/bench"
db=ocpizza_bench
vhost=ocpizza_bench
port=8100

bash deploy/local/services.sh up >/dev/null
[ -f .env ] || cp .env.example .env
set -a; . ./.env; set +a

echo "building ($profile)…"
if [ "$profile" = release ]; then
    cargo build --release --quiet --bin ocpizza --bin ocpizza-worker --bin ocpizza-bench
else
    cargo build --quiet --bin ocpizza --bin ocpizza-worker --bin ocpizza-bench
fi

export OCPIZZA_RUN="$run" OCPIZZA_BIN="$bin" OCPIZZA_WORKDIR="$root"
cleanup() {
    bash deploy/local/supervise.sh stop >/dev/null 2>&1 || true
    mariadb -uroot -e "DROP DATABASE IF EXISTS \`$db\`" || true
    curl -fsS -u guest:guest -X DELETE "http://127.0.0.1:15672/api/vhosts/$vhost" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

mariadb -uroot <<SQL
CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
GRANT ALL ON \`$db\`.* TO '$DB_USER'@'localhost';
GRANT ALL ON \`$db\`.* TO '$DB_USER'@'127.0.0.1';
SQL
curl -fsS -u guest:guest -X PUT "http://127.0.0.1:15672/api/vhosts/$vhost" >/dev/null
curl -fsS -u guest:guest -X PUT -H 'content-type: application/json' \
    -d '{"configure":".*","write":".*","read":".*"}' \
    "http://127.0.0.1:15672/api/permissions/$vhost/guest" >/dev/null

export DB_NAME=$db RABBITMQ_URL="amqp://guest:guest@127.0.0.1:5672/$vhost" PORT=$port \
    PUBLIC_URL="http://127.0.0.1:$port/" LOG_LEVEL=warn ENV=development SENTRY_DSN=
"$bin/ocpizza" migrate >/dev/null
"$bin/ocpizza" feed-db -d deploy/demo/db_seed.csv >/dev/null
# Open all day, every day, and stock enough for any run: the benchmark measures the platform,
# not the demo shops' opening hours or their pantry.
mariadb -uroot "$db" -e "UPDATE pizzerias SET opening_hours = '00:00-23:59', closed_days = '';
                         UPDATE stock SET quantity = 1000000000;"

bash deploy/local/supervise.sh start >/dev/null
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done

pids=()
for p in ocpizza-web ocpizza-relay-0 ocpizza-stock-0 ocpizza-payments-0 ocpizza-kitchen-0 ocpizza-notifications-0; do
    pid=$(bash deploy/local/supervise.sh ctl pid "ocpizza:$p")
    pids+=(--pid "${p#ocpizza-}=$pid" --cpu "${p#ocpizza-}=$pid")
done
# The peers' CPU per order too (the oldest process of each: the server, not a helper).
for peer in "mariadb=-x mariadbd" "rabbitmq=-f beam.smp.*rabbit" "localstripe=-f localstripe_launcher" \
            "maildev=-f maildev" "emupos=-f bin/emupos"; do
    # shellcheck disable=SC2086
    pid=$(pgrep -o ${peer#*=} || true)
    [ -z "$pid" ] || pids+=(--cpu "${peer%%=*}=$pid")
done
setup="Stack: $profile build, one process per program (supervisor/ocpizza.conf), MariaDB $(mariadb -V | grep -o '[0-9]*\.[0-9]*\.[0-9]*' | head -1), RabbitMQ, localstripe, maildev and emupos all on the same machine; pickup orders across the 5 demo pizzerias."
"$bin/ocpizza-bench" --url "http://127.0.0.1:$port" \
    --database-url "mysql://$DB_USER:$DB_PASSWORD@127.0.0.1:3306/$db" \
    --report docs/performance.md --setup "$setup" "${pids[@]}" "$@"
