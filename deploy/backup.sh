#!/usr/bin/env bash
# Database backups: gzipped SQL dumps, kept BACKUP_KEEP_DAYS days (always at least the newest 3).
#
#   bash deploy/backup.sh backup               dump DB_NAME, print the new file's path
#   bash deploy/backup.sh list                 the backups of DB_NAME, oldest first
#   bash deploy/backup.sh latest               the newest backup's path
#   bash deploy/backup.sh restore FILE [--yes] replace DB_NAME's content with FILE
#
# Settings: DB_NAME, DB_USER, DB_PASSWORD, DB_HOST (127.0.0.1; or a cluster's nodes,
# comma-separated: the first that answers), DB_PORT (3306), BACKUP_DIR
# (/var/backups/ocpizza), BACKUP_KEEP_DAYS (14), read from $OCPIZZA_ENV_FILE, else ./.env, else
# the repository's .env; variables already set in the environment win.
# Run nightly by deploy/systemd/ocpizza-backup.timer (or deploy/cron/ocpizza-backup) as ocpizza.
set -euo pipefail

usage() { echo "usage: $0 backup | list | latest | restore FILE [--yes]" >&2; exit 2; }
die() { printf 'backup.sh: %s\n' "$*" >&2; exit 1; }
note() { printf '%s\n' "$*" >&2; }

load_settings() {
    local env_file="${OCPIZZA_ENV_FILE:-}"
    if [ -z "$env_file" ]; then
        if [ -f .env ]; then env_file=.env; else env_file="$(cd "$(dirname "$0")/.." && pwd)/.env"; fi
    elif [ ! -f "$env_file" ]; then
        die "OCPIZZA_ENV_FILE=$env_file does not exist"
    fi
    # The environment wins over the file (as in the programs): remember what is set, source, put it back.
    local names=(DB_NAME DB_USER DB_PASSWORD DB_HOST DB_PORT BACKUP_DIR BACKUP_KEEP_DAYS) saved=() v kv
    for v in "${names[@]}"; do
        if [ -n "${!v+x}" ]; then saved+=("$v=${!v}"); fi
    done
    if [ -f "$env_file" ]; then
        # shellcheck disable=SC1090
        . "$env_file" || die "cannot read $env_file"
    fi
    for kv in ${saved[@]+"${saved[@]}"}; do
        printf -v "${kv%%=*}" '%s' "${kv#*=}"
    done
    DB_HOST="${DB_HOST:-127.0.0.1}"
    DB_PORT="${DB_PORT:-3306}"
    BACKUP_DIR="${BACKUP_DIR:-/var/backups/ocpizza}"
    BACKUP_KEEP_DAYS="${BACKUP_KEEP_DAYS:-14}"
    [[ "$BACKUP_KEEP_DAYS" =~ ^[0-9]+$ ]] || die "BACKUP_KEEP_DAYS must be a number of days (got '$BACKUP_KEEP_DAYS')"
    [ -n "${DB_NAME:-}" ] || die "DB_NAME is not set (environment or $env_file)"
    # Same rule as the programs; it also keeps the name safe in file names and SQL.
    [[ "$DB_NAME" =~ ^[A-Za-z0-9_]+$ ]] || die "DB_NAME: use letters, digits and _ only"
}

need_credentials() {
    [ -n "${DB_USER:-}" ] || die "DB_USER is not set"
    [ -n "${DB_PASSWORD:-}" ] || die "DB_PASSWORD is not set"
    # MariaDB's own names first; MySQL 8 only has mysqldump/mysql.
    if command -v mariadb-dump >/dev/null && command -v mariadb >/dev/null; then
        dump_cmd=mariadb-dump; client_cmd=mariadb
    elif command -v mysqldump >/dev/null && command -v mysql >/dev/null; then
        dump_cmd=mysqldump; client_cmd=mysql
    else
        die "neither mariadb-dump/mariadb nor mysqldump/mysql is installed"
    fi
    # The password goes in a private option file, never on a command line (visible in ps).
    cnf=$(mktemp "${TMPDIR:-/tmp}/ocpizza-backup.XXXXXX.cnf")
    chmod 600 "$cnf"
    local escaped=${DB_PASSWORD//\\/\\\\}
    escaped=${escaped//\"/\\\"}
    # DB_HOST may list a Galera cluster's nodes (host or host:port, comma-separated): the first
    # that answers takes the dump or the restore (a restore replicates to the others).
    local nodes node host port
    IFS=, read -ra nodes <<<"$DB_HOST"
    for node in "${nodes[@]}"; do
        node=${node// /}
        host=$node port=$DB_PORT
        if [[ "$node" =~ ^(.+):([0-9]+)$ ]]; then host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}; fi
        printf '[client]\nhost=%s\nport=%s\nuser=%s\npassword="%s"\n' "$host" "$port" "$DB_USER" "$escaped" >"$cnf"
        [ ${#nodes[@]} -eq 1 ] && break
        "$client_cmd" --defaults-extra-file="$cnf" --connect-timeout=5 -e 'SELECT 1' >/dev/null 2>&1 && break
    done
    DB_HOST=$host DB_PORT=$port
}

cleanup() {
    [ -n "${cnf:-}" ] && rm -f -- "$cnf"
    [ -n "${part:-}" ] && rm -f -- "$part"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sql() { "$client_cmd" --defaults-extra-file="$cnf" --batch --skip-column-names "$DB_NAME" "$@"; }

# This database's backups, oldest first (the timestamp in the name sorts chronologically).
backups() {
    [ -d "$BACKUP_DIR" ] || return 0
    find "$BACKUP_DIR" -maxdepth 1 -type f -name "ocpizza-${DB_NAME}-[0-9]*-[0-9]*.sql.gz" | sort
}

do_backup() {
    need_credentials
    umask 077 # dumps hold customers' personal data
    mkdir -p "$BACKUP_DIR" || die "cannot create $BACKUP_DIR"
    local file="" try
    # Written under another name and renamed once complete and verified: a failed or interrupted
    # dump never looks like a backup (and the trap removes it). Names are per second; creating the
    # .part with noclobber reserves one, and a backup started in the same second takes the next.
    for try in 1 2 3; do
        file="$BACKUP_DIR/ocpizza-${DB_NAME}-$(date +%Y%m%d-%H%M%S).sql.gz"
        if [ ! -e "$file" ] && (set -o noclobber; : >"$file.part") 2>/dev/null; then
            part="$file.part"
            break
        fi
        [ "$try" -eq 3 ] || sleep 1
    done
    [ -n "$part" ] || die "cannot create $file.part (exists already, or $BACKUP_DIR is not writable)"
    # --single-transaction: a consistent snapshot of InnoDB tables without locking the shop out.
    # --no-tablespaces: MySQL 8 otherwise needs the global PROCESS privilege.
    if ! "$dump_cmd" --defaults-extra-file="$cnf" --single-transaction --quick --routines --triggers \
            --hex-blob --default-character-set=utf8mb4 --no-tablespaces "$DB_NAME" | gzip -c >"$part"; then
        die "dump of $DB_NAME on $DB_HOST:$DB_PORT failed"
    fi
    gzip -t "$part" || die "the dump $part does not verify (gzip -t)"
    # mysqldump ends a complete dump with this line; its absence means it stopped early.
    gunzip -c "$part" | tail -n 1 | grep -q '^-- Dump completed' || die "the dump $part is incomplete"
    mv -- "$part" "$file"
    part=""

    # Retention: older than BACKUP_KEEP_DAYS goes, except the newest 3 whatever their age.
    local all=() i old
    mapfile -t all < <(backups)
    for ((i = 0; i < ${#all[@]} - 3; i++)); do
        old=$(find "${all[$i]}" -maxdepth 0 -mmin +$((BACKUP_KEEP_DAYS * 1440)))
        if [ -n "$old" ]; then
            rm -f -- "$old"
            note "removed old backup $old"
        fi
    done
    printf '%s\n' "$file"
}

do_list() {
    local f
    while IFS= read -r f; do
        printf '%s  %8s  %s\n' "$(date -r "$f" '+%Y-%m-%d %H:%M')" "$(du -h --apparent-size -- "$f" | cut -f1)" "$f"
    done < <(backups)
}

do_latest() {
    local newest
    newest=$(backups | tail -n 1)
    [ -n "$newest" ] || die "no backup of $DB_NAME in $BACKUP_DIR"
    printf '%s\n' "$newest"
}

do_restore() {
    local file="" yes="" arg
    for arg in "$@"; do
        case "$arg" in
            --yes) yes=1 ;;
            -*) usage ;;
            *) [ -z "$file" ] || usage; file=$arg ;;
        esac
    done
    [ -n "$file" ] || usage
    [ -f "$file" ] || die "$file: no such file"
    # Check the whole file before touching the database.
    gzip -t "$file" || die "$file is not a valid gzip file"
    need_credentials
    if [ -z "$yes" ]; then
        [ -t 0 ] || die "refusing to restore without --yes (stdin is not a terminal)"
        printf 'This replaces every table of database %s on %s:%s with the content of\n  %s\nStop the programs first (supervisorctl stop ocpizza:*). Type the database name to confirm: ' \
            "$DB_NAME" "$DB_HOST" "$DB_PORT" "$file" >&2
        local answer
        read -r answer || true
        [ "$answer" = "$DB_NAME" ] || die "not confirmed; nothing changed"
    fi

    # The dump drops and recreates the tables it holds, but tables created since (a later
    # migration) would stay and contradict the restored migration history: empty the database first.
    local drops
    drops=$(sql -e "SELECT CONCAT(IF(table_type = 'VIEW', 'DROP VIEW IF EXISTS ', 'DROP TABLE IF EXISTS '), '\`', REPLACE(table_name, '\`', '\`\`'), '\`;') FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_type = 'VIEW' DESC") \
        || die "cannot list the tables of $DB_NAME"
    if [ -n "$drops" ]; then
        printf 'SET FOREIGN_KEY_CHECKS=0;\n%s\n' "$drops" | sql || die "cannot drop the tables of $DB_NAME"
    fi
    if ! gunzip -c "$file" | sql; then
        die "restore of $file into $DB_NAME failed: the database is incomplete; fix the cause and restore again"
    fi
    note "restored $file into $DB_NAME on $DB_HOST:$DB_PORT"
}

cnf=""
part=""
dump_cmd=""
client_cmd=""
cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    backup) [ $# -eq 0 ] || usage; load_settings; do_backup ;;
    list) [ $# -eq 0 ] || usage; load_settings; do_list ;;
    latest) [ $# -eq 0 ] || usage; load_settings; do_latest ;;
    restore) [ $# -ge 1 ] || usage; load_settings; do_restore "$@" ;;
    *) usage ;;
esac
