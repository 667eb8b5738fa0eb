#!/usr/bin/env bash
# Updates an installation made by deploy/install.sh, as root:
#
#   sudo bash /opt/ocpizza/app/deploy/update.sh               the current branch's latest commit
#   sudo REF=v1.4.0 bash /opt/ocpizza/app/deploy/update.sh    a tag (or commit, or branch)
#   sudo bash /opt/ocpizza/app/deploy/update.sh rollback      back to the binaries the last update replaced
#   sudo REF=v1.4.0 BINARIES=/tmp/ocpizza-1.4.0 bash …/update.sh   binaries built elsewhere for REF
#       (as with install.sh's BINARIES: nothing is compiled on the server)
#
# Order: pull, build while the old version keeps running, check the settings with the new binary,
# back up the database, install the binaries (the old ones kept as bin/*.previous), migrate,
# restart, wait for /readyz. Supervisor and nginx files are installed by deploy/install.sh: run
# it again when they change.
set -euo pipefail

usage() { echo "usage: sudo [REF=tag] [BINARIES=DIR] bash $0 [update|rollback]" >&2; exit 2; }
step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nupdate.sh: %s\n' "$*" >&2; exit 1; }

user=ocpizza
base=/opt/ocpizza
app=$base/app
target=$base/target
staging=$base/staging
state=$base/.last-update # previous commit and pre-update backup, for rollback's advice
binaries=(ocpizza ocpizza-worker)

as_app() {
    runuser -u "$user" -- env HOME="$base" PATH="$base/.cargo/bin:/usr/local/bin:/usr/bin:/bin" "$@"
}

# Installs $1 as bin/$2 under a new inode: the running programs keep their binary.
put_binary() {
    install -m 755 "$1" "bin/.$2.new"
    mv -f "bin/.$2.new" "bin/$2"
}

readyz_url() {
    local host port
    # shellcheck disable=SC1091
    host=$(. ./.env && echo "${HOST:-127.0.0.1}")
    # shellcheck disable=SC1091
    port=$(. ./.env && echo "${PORT:-8000}")
    case "$host" in
        0.0.0.0) host=127.0.0.1 ;;
        ::) host='[::1]' ;;
        *:*) host="[$host]" ;;
    esac
    echo "http://$host:$port/readyz"
}

all_running() { # every program of the group RUNNING
    supervisorctl status 'ocpizza:*' 2>/dev/null | awk '$2 != "RUNNING" { bad = 1 } END { exit bad || NR == 0 }'
}

# Restarts every program and waits for the web server's readiness; on failure says how to go back.
# $1: what to advise (update: rollback and restore; rollback: restore only).
restart_and_wait() {
    # Why nothing is lost: on SIGTERM the workers finish or give back what they hold (up to
    # stopwaitsecs); an unacknowledged message returns to its durable quorum queue and is
    # delivered again after the restart. Orders placed meanwhile are written to the database
    # outbox with the order itself and wait there until the relay is back. nginx answers 502
    # for the few seconds the web server is down.
    step "restarting the programs"
    # Its exit status is not trusted alone: the checks below say what runs.
    supervisorctl restart 'ocpizza:*' || true
    local url
    url=$(readyz_url)
    step "waiting for $url"
    for _ in $(seq 1 60); do
        curl -fsS -m 3 "$url" >/dev/null 2>&1 && all_running && break
        sleep 1
    done
    supervisorctl status 'ocpizza:*' || true
    if ! curl -fsS -m 3 "$url"; then
        echo
        echo "NOT READY after 60 s. Last lines of /var/log/ocpizza/web.log:" >&2
        tail -n 30 /var/log/ocpizza/web.log >&2 || true
        advise "$1"
        exit 1
    fi
    echo
    if ! all_running; then
        echo "The web server is ready but not every program is RUNNING: see /var/log/ocpizza/<program>.log" >&2
        advise "$1"
        exit 1
    fi
}

advise() { # update | rollback
    local previous="" backup=""
    if [ -f "$state" ]; then read -r previous backup <"$state" || true; fi
    if [ "$1" = update ]; then
        printf '\nTo go back to the previous binaries (bin/*.previous):  sudo bash %s/deploy/update.sh rollback\n' "$app" >&2
    fi
    cat >&2 <<MSG

Migrations only go forward: if the new version migrated the database and the previous one cannot
work with it, restore the pre-update backup as well:
  supervisorctl stop 'ocpizza:*'
  cd $app && sudo -u $user bash deploy/backup.sh restore ${backup:-FILE} --yes
  supervisorctl start 'ocpizza:*'
The checkout is not moved back; to build the previous version again: sudo REF=${previous:-COMMIT} bash $app/deploy/update.sh
MSG
}

do_update() {
    local before after backup_file b
    step "code"
    before=$(as_app git rev-parse HEAD)
    if [ -n "${REF:-}" ]; then
        as_app git fetch --quiet --tags origin
        as_app git checkout --quiet "$REF"
        # A branch is brought up to date; a tag or commit leaves HEAD detached where asked.
        if as_app git symbolic-ref -q HEAD >/dev/null; then as_app git pull --quiet --ff-only; fi
    else
        as_app git symbolic-ref -q HEAD >/dev/null ||
            die "HEAD is detached (an earlier REF=): pass REF=, or first: sudo -u $user git -C $app checkout main"
        as_app git pull --quiet --ff-only
    fi
    after=$(as_app git rev-parse HEAD)
    echo "$(as_app git log -1 --format='%h %s' "$after") (was ${before:0:7})"

    local built=$target/release
    if [ -n "${BINARIES:-}" ]; then
        built=$BINARIES
        echo "prebuilt binaries from $built"
    else
        step "release build (the running version keeps serving)"
        as_app env CARGO_TARGET_DIR="$target" cargo build --release --locked --bins
    fi
    # Frozen copies: what is checked below is exactly what gets installed.
    install -d -m 755 "$staging"
    for b in "${binaries[@]}"; do install -m 755 "$built/$b" "$staging/$b"; done

    step "configuration check with the new binary"
    as_app "$staging/ocpizza" check-config ||
        die "the new version refuses .env (see above); binaries and database unchanged (the checkout is at the new commit)"

    step "database backup before migrating"
    backup_file=$(as_app bash deploy/backup.sh backup) ||
        die "backup failed; binaries and database unchanged (the checkout is at the new commit)"
    echo "$backup_file"
    if [ -f "$state" ] && cmp -s bin/ocpizza "$staging/ocpizza"; then
        echo "bin/ already holds this build (an earlier attempt): $state still names the version before it"
    else
        printf '%s %s\n' "$before" "$backup_file" >"$state"
    fi

    step "installing the new binaries (previous ones kept as bin/*.previous)"
    for b in "${binaries[@]}"; do
        # Unless bin/ already holds this very build (an update run again after a failed restart):
        # then bin/*.previous still holds the version to go back to.
        if [ -f "bin/$b" ] && ! cmp -s "bin/$b" "$staging/$b"; then put_binary "bin/$b" "$b.previous"; fi
        put_binary "$staging/$b" "$b"
    done

    step "migrations"
    if ! as_app bin/ocpizza migrate; then
        # The programs were not restarted and still run the old version; put its binaries back so
        # that an automatic restart by Supervisor does not start the new one on an unmigrated database.
        for b in "${binaries[@]}"; do
            if [ -f "bin/$b.previous" ]; then put_binary "bin/$b.previous" "$b"; fi
        done
        echo "migration failed: the previous binaries are back in bin/ and the old version keeps running." >&2
        echo "The database may be partly migrated; pre-update backup: $backup_file" >&2
        exit 1
    fi

    restart_and_wait update
    echo "updated to $(as_app git log -1 --format='%h %s' "$after")"
}

do_rollback() {
    local b
    for b in "${binaries[@]}"; do
        [ -f "bin/$b.previous" ] || die "bin/$b.previous is missing: no update to roll back"
    done
    step "reinstating bin/*.previous"
    for b in "${binaries[@]}"; do put_binary "bin/$b.previous" "$b"; done
    restart_and_wait rollback
    echo "rolled back to the previous binaries"
    advise rollback 2>&1
}

main() {
    [ "$(id -u)" -eq 0 ] || die "run as root (sudo)"
    [ -x "$app/bin/ocpizza" ] || die "no installation in $app (deploy/install.sh first)"
    if [ -n "${BINARIES:-}" ]; then
        BINARIES=$(cd "$BINARIES" 2>/dev/null && pwd) || die "BINARIES: no such directory"
        local b
        for b in "${binaries[@]}"; do
            [ -x "$BINARIES/$b" ] || die "BINARIES=$BINARIES holds no executable $b"
        done
    fi
    cd "$app"
    exec 9>/run/ocpizza-update.lock
    flock -n 9 || die "another update is running"
    case "${1:-update}" in
        update) do_update ;;
        rollback) do_rollback ;;
        *) usage ;;
    esac
}

# Everything above is only definitions, and this line is read whole before it runs: `git pull`
# may rewrite this file while it executes without bash reading a mix of old and new.
main "$@"; exit $?
