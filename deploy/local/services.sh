#!/usr/bin/env bash
# Installs (if missing) and starts (if not running) every service OC Pizza and its tests use, on
# loopback only, then creates the database accounts. Idempotent and safe to run from parallel
# shells; a service already answering on its port is reused, whoever started it.
#
#   bash deploy/local/services.sh up       install + start + create DB accounts
#   bash deploy/local/services.sh status   what answers where
#
# Services and ports (all 127.0.0.1):
#   MariaDB 3306 · RabbitMQ 5672 (+ management API 15672, guest/guest) · localstripe 8420 ·
#   maildev SMTP 1025, web/API 1080 · emupos control API 8765, printers 9101-9105 (one per demo
#   pizzeria) and 9109 (backup). Also Chromium and playwright-core for the browser tests, and
#   Supervisor, nginx, openssl, curl and the MariaDB client tools for the operations tests.
# State: venvs and npm packages under /opt/ocpizza; logs, pid files and receipts under
# ${OCPIZZA_STATE_DIR:-/var/tmp/ocpizza}.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
state="${OCPIZZA_STATE_DIR:-/var/tmp/ocpizza}"
opt=/opt/ocpizza
mkdir -p "$state" "$opt"

if [ -f "$root/.env" ]; then set -a; . "$root/.env"; set +a; fi
DB_NAME="${DB_NAME:-ocpizza_db}"
DB_USER="${DB_USER:-admin_ocp}"
DB_PASSWORD="${DB_PASSWORD:-ocpizza-dev-password}"
TEST_DB_USER="${TEST_DB_USER:-ocpizza_test}"
TEST_DB_PASSWORD="${TEST_DB_PASSWORD:-ocpizza_test}"
EMUPOS_PORTS=(9101 9102 9103 9104 9105 9109)

log() { printf '%s\n' "$*"; }
fail() {
    # $1 service, $2 log file
    printf '\nFAILED: %s did not start.\n' "$1" >&2
    if [ -n "${2:-}" ] && [ -f "$2" ]; then
        printf 'Last lines of %s:\n' "$2" >&2
        tail -n 25 "$2" >&2
    fi
    exit 1
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port seconds
    for _ in $(seq 1 $(( $2 * 5 ))); do listening "$1" && return 0; sleep 0.2; done
    return 1
}
apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

mariadb_up() {
    if ! listening 3306; then
        [ -x /usr/sbin/mariadbd ] || { log "installing MariaDB"; apt_install mariadb-server; }
        mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
        start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd 9>&-
        wait_port 3306 60 || fail MariaDB /var/log/mysql/error.log
    fi
    for _ in $(seq 1 50); do mariadb -uroot -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
    # As root over the socket: on a fresh install root authenticates with unix_socket only.
    mariadb -uroot <<SQL || fail "MariaDB account set-up"
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'127.0.0.1';
-- The test account may create and drop only the per-test databases (ocpt_...).
CREATE USER IF NOT EXISTS '$TEST_DB_USER'@'localhost' IDENTIFIED BY '$TEST_DB_PASSWORD';
CREATE USER IF NOT EXISTS '$TEST_DB_USER'@'127.0.0.1' IDENTIFIED BY '$TEST_DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`ocpt\\_%\`.* TO '$TEST_DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`ocpt\\_%\`.* TO '$TEST_DB_USER'@'127.0.0.1';
SQL
}

rabbitmq_up() {
    if ! listening 5672; then
        command -v rabbitmq-server >/dev/null || { log "installing RabbitMQ"; apt_install rabbitmq-server; }
        rabbitmq-server -detached >/dev/null 2>&1 9>&- || true
        timeout 120 rabbitmqctl await_startup >/dev/null 2>&1 || fail RabbitMQ "$(ls -t /var/log/rabbitmq/*.log 2>/dev/null | head -n1)"
    fi
    if ! curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1; then
        if ! rabbitmq-plugins list -e 2>/dev/null | grep -q 'rabbitmq_management '; then
            rabbitmq-plugins enable rabbitmq_management >/dev/null || fail "RabbitMQ management plugin"
        fi
        for _ in $(seq 1 150); do curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1 && break; sleep 0.2; done
        curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1 || fail "RabbitMQ management API" "$(ls -t /var/log/rabbitmq/*.log 2>/dev/null | head -n1)"
    fi
}

schemathesis_up() {
    # Not a service: the API property tests run it against the served OpenAPI document.
    local venv="$opt/venvs/schemathesis"
    if [ ! -x "$venv/bin/schemathesis" ]; then
        log "installing schemathesis"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q "schemathesis==4.32.5"
    fi
}

localstripe_up() {
    # A localstripe started by an older launcher (other patches) is restarted, not reused.
    local launcher="$root/tests/peers/localstripe_launcher.py" want
    want=$(sha256sum "$launcher" | cut -c1-16)
    if listening 8420; then
        [ "$(cat "$state/localstripe.launcher" 2>/dev/null)" = "$want" ] && return 0
        log "restarting localstripe (launcher changed)"
        [ -f "$state/localstripe.pid" ] && kill "$(cat "$state/localstripe.pid")" 2>/dev/null || true
        pkill -f 'localstripe_launcher.py --port 8420' 2>/dev/null || true
        for _ in $(seq 1 50); do listening 8420 || break; sleep 0.1; done
    fi
    local venv="$opt/venvs/localstripe"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import localstripe' 2>/dev/null; then
        log "installing localstripe"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q localstripe==1.15.10
    fi
    nohup "$venv/bin/python" "$launcher" --port 8420 >"$state/localstripe.log" 2>&1 9>&- &
    echo $! >"$state/localstripe.pid"
    wait_port 8420 30 || fail localstripe "$state/localstripe.log"
    echo "$want" >"$state/localstripe.launcher"
}

maildev_up() {
    listening 1025 && listening 1080 && return 0
    local bin="$opt/node/node_modules/.bin/maildev"
    if [ ! -x "$bin" ]; then
        command -v npm >/dev/null || { log "installing Node.js"; apt_install nodejs npm; }
        log "installing maildev"
        npm install --prefix "$opt/node" --no-audit --no-fund --silent maildev@3.0.0
    fi
    nohup "$bin" --ip 127.0.0.1 --web-ip 127.0.0.1 --smtp 1025 --web 1080 >"$state/maildev.log" 2>&1 9>&- &
    echo $! >"$state/maildev.pid"
    wait_port 1025 30 && wait_port 1080 30 || fail maildev "$state/maildev.log"
}

python313() {
    for candidate in "$HOME/.pyenv/versions/3.13.0/bin/python3" "$(command -v python3.13 || true)"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] && { echo "$candidate"; return 0; }
    done
    return 1
}

emupos_up() {
    local all=1
    for p in 8765 "${EMUPOS_PORTS[@]}"; do listening "$p" || all=""; done
    [ -n "$all" ] && return 0
    local venv="$opt/venvs/emupos"
    if [ ! -x "$venv/bin/emupos" ]; then
        local py
        py=$(python313) || { printf 'FAILED: emupos needs Python 3.13 (pyenv 3.13.0 or python3.13 on PATH); none found.\n' >&2; exit 1; }
        log "installing emupos"
        "$py" -m venv "$venv"
        "$venv/bin/pip" install -q "emupos>=0.4,<0.5"
    fi
    mkdir -p "$state/receipts"
    {
        echo "schema: 1"
        echo "api: { host: 127.0.0.1, port: 8765 }"
        echo "devices:"
        for p in "${EMUPOS_PORTS[@]}"; do
            echo "  - id: printer-$p"
            echo "    type: printer"
            echo "    profile: epson-tm-t20iii"
            echo "    connections:"
            echo "      - tcp: { host: 127.0.0.1, port: $p }"
            echo "    receipts_dir: $state/receipts/printer-$p"
        done
    } >"$state/emupos.yaml"
    (cd "$state" && exec nohup "$venv/bin/emupos" run --config "$state/emupos.yaml" >"$state/emupos.log" 2>&1 9>&-) &
    wait_port 8765 30 || fail emupos "$state/emupos.log"
    for p in "${EMUPOS_PORTS[@]}"; do wait_port "$p" 10 || fail "emupos printer on $p" "$state/emupos.log"; done
}

browser_up() {
    # The browser tests: Debian's Chromium, and playwright-core from tests/browser/package-lock.json.
    [ -x /usr/bin/chromium ] || { log "installing Chromium"; apt_install chromium; }
    command -v npm >/dev/null || { log "installing Node.js"; apt_install nodejs npm; }
    local dir="$root/tests/browser" want
    want=$(sha256sum "$dir/package-lock.json" | cut -c1-16)
    if [ "$(cat "$dir/node_modules/.ocpizza-lock" 2>/dev/null)" != "$want" ]; then
        log "installing playwright-core for the browser tests"
        (cd "$dir" && npm ci --no-audit --no-fund --silent)
        echo "$want" >"$dir/node_modules/.ocpizza-lock"
    fi
}

ops_tools_up() {
    # Supervisor runs the programs (deploy/local/supervise.sh); nginx, openssl and curl serve the
    # proxy tests; the MariaDB client tools make and restore backups; the Galera provider and
    # rsync (its state transfer) run the database cluster tests' nodes. Only the binaries are
    # used: the packages' own system services are not needed.
    local missing=()
    command -v supervisord >/dev/null || missing+=(supervisor)
    [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || missing+=(nginx)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v curl >/dev/null || missing+=(curl)
    command -v mysqldump >/dev/null || command -v mariadb-dump >/dev/null || missing+=(mariadb-client)
    [ -f /usr/lib/galera/libgalera_smm.so ] || missing+=(galera-4)
    command -v rsync >/dev/null || missing+=(rsync)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt_install "${missing[@]}"
    fi
}

status() {
    for s in "MariaDB:3306" "RabbitMQ:5672" "RabbitMQ management:15672" "localstripe:8420" "maildev SMTP:1025" "maildev web:1080" \
             "emupos API:8765" "printer paris-11:9101" "printer paris-15:9102" "printer boulogne:9103" "printer montreuil:9104" \
             "printer vincennes:9105" "printer backup:9109"; do
        name=${s%%:*}; port=${s##*:}
        if listening "$port"; then state_word=up; else state_word=DOWN; fi
        printf '  %-22s 127.0.0.1:%-5s %s\n' "$name" "$port" "$state_word"
    done
}

case "${1:-up}" in
    up)
        exec 9>"$state/services.lock"
        flock 9
        mariadb_up
        rabbitmq_up
        localstripe_up
        schemathesis_up
        maildev_up
        emupos_up
        browser_up
        ops_tools_up
        log "services ready:"
        status
        ;;
    status) status ;;
    *) echo "usage: $0 up|status" >&2; exit 2 ;;
esac
