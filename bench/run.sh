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
#   BENCH_PRINTERS=sink bash bench/run.sh --online-share 0
#                                              the stand-ins' share out: a minimal printer sink
#                                              (ocpizza-printer-sink) instead of emupos, no Stripe
#   BENCH_LAYOUT=clustered bash bench/run.sh   two web servers behind nginx, two of each worker
#   BENCH_BLOCK=name                           the docs/performance.md block to fill
#                                              (<!-- bench:name:begin -->; default: the main one)
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
printers="${BENCH_PRINTERS:-emupos}"
layout="${BENCH_LAYOUT:-single}"
extra=()

bash deploy/local/services.sh up >/dev/null
[ -f .env ] || cp .env.example .env
set -a; . ./.env; set +a

echo "building ($profile)…"
if [ "$profile" = release ]; then
    cargo build --release --quiet --bin ocpizza --bin ocpizza-worker --bin ocpizza-bench --bin ocpizza-printer-sink
else
    cargo build --quiet --bin ocpizza --bin ocpizza-worker --bin ocpizza-bench --bin ocpizza-printer-sink
fi

export OCPIZZA_RUN="$run" OCPIZZA_BIN="$bin" OCPIZZA_WORKDIR="$root"
cleanup() {
    for pid in "${extra[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$run/nginx/nginx.pid" ] && kill "$(cat "$run/nginx/nginx.pid")" 2>/dev/null || true
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
# Open all day, every day, stock and kitchens enough for any run: the benchmark measures the
# platform, not the demo shops' opening hours, pantry or ovens.
mariadb -uroot "$db" -e "UPDATE pizzerias SET opening_hours = '00:00-23:59', closed_days = '';
                         UPDATE stock SET quantity = 1000000000;
                         UPDATE kitchen_capacity SET per_quarter = 1000, max_wait_minutes = 600;
                         UPDATE kitchen_periods SET per_quarter = 1000;"

if [ "$printers" = sink ]; then
    # The demo printers (9101-9105, backup 9109) moved 100 ports up, to the sink.
    mariadb -uroot "$db" -e "UPDATE printers SET port = port + 100"
    export PRINTER_PORTS=9100-9300
    "$bin/ocpizza-printer-sink" 9201 9202 9203 9204 9205 9209 &
    extra+=($!)
fi

bash deploy/local/supervise.sh start >/dev/null
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
url="http://127.0.0.1:$port"
if [ "$layout" = clustered ]; then
    # The second machine's programs: a web server and one more of each worker, on the same
    # database and queues; nginx in front of both web servers with the production snippet.
    mkdir -p "$run/logs"
    PORT=$((port + 1)) "$bin/ocpizza" serve >"$run/logs/web-1.log" 2>&1 &
    extra+=($!)
    for w in relay stock payments kitchen notifications; do
        "$bin/ocpizza-worker" "$w" >"$run/logs/$w-1.log" 2>&1 &
        extra+=($!)
    done
    mkdir -p "$run/nginx/logs"
    cat >"$run/nginx/nginx.conf" <<NGINX
worker_processes 1;
error_log $run/nginx/logs/error.log warn;
pid $run/nginx/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $run/nginx/body;
    proxy_temp_path $run/nginx/proxy;
    fastcgi_temp_path $run/nginx/fastcgi;
    uwsgi_temp_path $run/nginx/uwsgi;
    scgi_temp_path $run/nginx/scgi;
    upstream ocpizza_web { server 127.0.0.1:$port; server 127.0.0.1:$((port + 1)); keepalive 32; }
    server { listen 127.0.0.1:$((port + 100)); server_name localhost; include $root/deploy/nginx/ocpizza-locations.conf; }
}
NGINX
    "$(command -v nginx || echo /usr/sbin/nginx)" -p "$run/nginx" -c "$run/nginx/nginx.conf" -g 'daemon on; user root;'
    url="http://127.0.0.1:$((port + 100))"
    for _ in $(seq 1 100); do curl -fsS "$url/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
fi

pids=()
for p in ocpizza-web ocpizza-relay-0 ocpizza-stock-0 ocpizza-payments-0 ocpizza-kitchen-0 ocpizza-notifications-0; do
    pid=$(bash deploy/local/supervise.sh ctl pid "ocpizza:$p")
    pids+=(--pid "${p#ocpizza-}=$pid" --cpu "${p#ocpizza-}=$pid")
done
if [ "$layout" = clustered ]; then
    names=(web-1 relay-1 stock-1 payments-1 kitchen-1 notifications-1)
    for i in "${!names[@]}"; do
        pids+=(--pid "${names[$i]}=${extra[$((${#extra[@]} - 6 + i))]}" --cpu "${names[$i]}=${extra[$((${#extra[@]} - 6 + i))]}")
    done
fi
[ "$printers" = sink ] && pids+=(--cpu "printer-sink=${extra[0]}")
# The peers' CPU per order too (the oldest process of each: the server, not a helper).
for peer in "mariadb=-x mariadbd" "rabbitmq=-f beam.smp.*rabbit" "localstripe=-f localstripe_launcher" \
            "maildev=-f maildev" "emupos=-f bin/emupos"; do
    [ "$printers" = sink ] && [ "${peer%%=*}" = emupos ] && continue
    # shellcheck disable=SC2086
    pid=$(pgrep -o ${peer#*=} || true)
    [ -z "$pid" ] || pids+=(--cpu "${peer%%=*}=$pid")
done
case "$layout" in
    clustered) procs="two web servers behind nginx and two processes of each worker (as on two machines)" ;;
    *) procs="one process per program (supervisor/ocpizza.conf)" ;;
esac
case "$printers" in
    sink) peers="maildev and a minimal printer sink (ocpizza-printer-sink, instead of emupos)" ;;
    *) peers="localstripe, maildev and emupos" ;;
esac
setup="Stack: $profile build, $procs, MariaDB $(mariadb -V | grep -o '[0-9]*\.[0-9]*\.[0-9]*' | head -1), RabbitMQ, $peers all on the same machine; pickup orders across the 5 demo pizzerias."
"$bin/ocpizza-bench" --url "$url" --block "${BENCH_BLOCK:-}" \
    --database-url "mysql://$DB_USER:$DB_PASSWORD@127.0.0.1:3306/$db" \
    --report docs/performance.md --setup "$setup" "${pids[@]}" "$@"
