#!/usr/bin/env bash
# Runs the web server and the workers under a private supervisord (supervisor/supervisord.conf),
# with the production program definitions (supervisor/ocpizza.conf) rendered for local paths.
#
#   bash deploy/local/supervise.sh start        start supervisord, or reload and restart all
#   bash deploy/local/supervise.sh stop         stop every program and supervisord
#   bash deploy/local/supervise.sh ctl ARGS...  supervisorctl, e.g. ctl status, ctl restart ocpizza:*
#   bash deploy/local/supervise.sh foreground   supervisord in the foreground (tests own it)
#
# OCPIZZA_RUN: socket, pid, logs and rendered programs (default .run at the project root);
# OCPIZZA_BIN: where ocpizza and ocpizza-worker are (default $CARGO_TARGET_DIR/debug);
# OCPIZZA_WORKDIR: the programs' working directory, whose .env they read (default the root).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export OCPIZZA_RUN="${OCPIZZA_RUN:-$root/.run}"
bin="${OCPIZZA_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug}"
workdir="${OCPIZZA_WORKDIR:-$root}"
conf="$root/supervisor/supervisord.conf"
mkdir -p "$OCPIZZA_RUN"

if ! command -v supervisord >/dev/null 2>&1; then
    echo "supervisord is missing: bash deploy/local/services.sh up installs it" >&2
    exit 1
fi

render() {
    sed -e "s#/opt/ocpizza/app/bin/#$bin/#" \
        -e "s#^directory=/opt/ocpizza/app\$#directory=$workdir#" \
        -e "s#/var/log/ocpizza/#$OCPIZZA_RUN/#" \
        -e '/^user=ocpizza$/d' \
        "$root/supervisor/ocpizza.conf" >"$OCPIZZA_RUN/programs.conf.new"
    mv "$OCPIZZA_RUN/programs.conf.new" "$OCPIZZA_RUN/programs.conf"
}
ctl() { supervisorctl -c "$conf" "$@"; }
running() { [ -S "$OCPIZZA_RUN/supervisor.sock" ] && ctl pid >/dev/null 2>&1; }

case "${1:-}" in
    start)
        render
        if running; then
            ctl reread >/dev/null
            ctl update >/dev/null
            ctl restart 'ocpizza:*'
        else
            supervisord -c "$conf"
        fi
        # startsecs=3: a program counts as RUNNING once it stayed up that long.
        for _ in $(seq 1 60); do
            status=$(ctl status 'ocpizza:*' 2>/dev/null || true)
            if [ -n "$status" ] && ! grep -qv ' RUNNING ' <<<"$status"; then
                echo "$status"
                exit 0
            fi
            sleep 0.5
        done
        echo "not every program is running after 30 s:" >&2
        ctl status 'ocpizza:*' >&2 || true
        exit 1
        ;;
    stop)
        if running; then
            pid=$(cat "$OCPIZZA_RUN/supervisord.pid")
            ctl shutdown >/dev/null
            for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            echo "stopped"
        fi
        ;;
    ctl)
        shift
        ctl "$@"
        ;;
    foreground)
        render
        exec supervisord -n -c "$conf"
        ;;
    *)
        sed -n '2,13p' "$0" >&2
        exit 2
        ;;
esac
