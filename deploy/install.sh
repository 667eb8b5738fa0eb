#!/usr/bin/env bash
# Installs OC Pizza on a fresh Ubuntu 22.04/24.04 server, as root, from a clone of the repository:
#
#   sudo DOMAIN=pizza.example.fr ADMIN_EMAIL=ops@example.fr bash deploy/install.sh
#   sudo DOMAIN=pizza.example.fr SKIP_CERTBOT=1 bash deploy/install.sh   (plain HTTP, no certificate)
#   sudo DOMAIN=… ADMIN_EMAIL=… BINARIES=/tmp/ocpizza-1.4.0 bash deploy/install.sh
#       (ocpizza and ocpizza-worker built elsewhere from this same commit, with
#        `cargo build --release --locked --bins`: no Rust toolchain nor compiler on the server)
#
# Idempotent: run it again after editing /opt/ocpizza/app/.env (it rebuilds and restarts).
# Layout: user ocpizza; code /opt/ocpizza/app (binaries in bin/, settings in .env); build cache
# /opt/ocpizza/target; logs /var/log/ocpizza; backups /var/backups/ocpizza; Supervisor runs the
# programs (supervisor/ocpizza.conf), nginx proxies to HOST:PORT. Later versions: deploy/update.sh.
set -euo pipefail

usage() {
    echo "usage: sudo DOMAIN=pizza.example.fr ADMIN_EMAIL=ops@example.fr [SKIP_CERTBOT=1] [BINARIES=DIR] bash $0" >&2
    exit 2
}
step() { printf '\n==> %s\n' "$*"; }
warn() { printf '\n!!! %s\n' "$*" >&2; }
die() { printf '\ninstall.sh: %s\n' "$*" >&2; exit 1; }

DOMAIN="${DOMAIN:-}"
ADMIN_EMAIL="${ADMIN_EMAIL:-}"
SKIP_CERTBOT="${SKIP_CERTBOT:-0}"
BINARIES="${BINARIES:-}"
[ "$(id -u)" -eq 0 ] || die "run as root (sudo)"
# Checked strictly: DOMAIN goes into sed expressions and nginx files.
[[ "$DOMAIN" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || usage
if [ "$SKIP_CERTBOT" != 1 ]; then [[ "$ADMIN_EMAIL" == ?*@?* ]] || usage; fi
if [ -n "$BINARIES" ]; then
    BINARIES=$(cd "$BINARIES" 2>/dev/null && pwd) || die "BINARIES: no such directory"
    for b in ocpizza ocpizza-worker; do
        [ -x "$BINARIES/$b" ] || die "BINARIES=$BINARIES holds no executable $b"
    done
fi

src=$(cd "$(dirname "$0")/.." && pwd)
user=ocpizza
group=ocpizza # the user's own group once it exists
base=/opt/ocpizza
app=$base/app
target=$base/target
marker=$base/.topology-settled
site=/etc/nginx/sites-available/ocpizza
cert=/etc/letsencrypt/live/$DOMAIN/fullchain.pem
later_warnings=()

# Runs a command as ocpizza with its own Rust toolchain; `runuser -u` needs no login shell.
as_app() {
    runuser -u "$user" -- env HOME="$base" PATH="$base/.cargo/bin:/usr/local/bin:/usr/bin:/bin" "$@"
}
mysql_root() {
    # As root over the socket: on Ubuntu, root authenticates with unix_socket and has no password.
    if command -v mariadb >/dev/null; then mariadb -uroot "$@"; else mysql -uroot "$@"; fi
}
sql_string() { # a MariaDB string literal
    local s=${1//\\/\\\\}
    printf "'%s'" "${s//\'/\\\'}"
}
# Sets KEY=VALUE in .env (replacing its line or appending it), keeping the file private.
set_env() {
    local key=$1 value=$2 file=$app/.env tmp line found=""
    tmp=$(mktemp "$file.XXXXXX")
    while IFS= read -r line || [ -n "$line" ]; do
        if [[ "$line" == "$key="* ]]; then printf '%s=%s\n' "$key" "$value"; found=1; else printf '%s\n' "$line"; fi
    done <"$file" >"$tmp"
    [ -n "$found" ] || printf '%s=%s\n' "$key" "$value" >>"$tmp"
    chown "$user:$group" "$tmp"
    chmod 600 "$tmp"
    mv -f "$tmp" "$file"
}
load_env() {
    # shellcheck disable=SC1091
    . "$app/.env"
}

exec 9>/run/ocpizza-install.lock
flock -n 9 || die "another install.sh is running"

step "system packages"
packages=(curl git ca-certificates openssl rsync gzip mariadb-server rabbitmq-server supervisor nginx
          certbot python3-certbot-nginx)
# The compiler only where the binaries are built.
[ -n "$BINARIES" ] || packages+=(build-essential pkg-config)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
    echo "all present"
fi

step "system user $user and directories"
if ! id -u "$user" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "$base" --no-create-home --shell /usr/sbin/nologin "$user"
fi
group=$(id -gn "$user")
install -d -o "$user" -g "$group" -m 755 "$base" "$app" "$target" /var/log/ocpizza
# Backups hold customers' personal data.
install -d -o "$user" -g "$group" -m 750 /var/backups/ocpizza

step "code in $app"
if [ "$src" = "$app" ]; then
    echo "running from $app itself"
elif [ -d "$app/.git" ]; then
    # Never overwritten from a clone: that could put older code next to a newer database.
    echo "$app already holds a checkout; left as is (deploy/update.sh changes its version)"
else
    [ -z "$(ls -A "$app")" ] || die "$app is not empty and holds no git checkout; move it away first"
    # A copy with its .git, so that `git pull` in $app uses the same remote as the clone.
    # The clone's .env is not copied: it holds development values.
    rsync -a --exclude /target --exclude /.env --exclude /.run --exclude /bin --exclude node_modules "$src/" "$app/"
    echo "copied $src to $app"
fi
chown -R "$user:$group" "$app"
install -d -o "$user" -g "$group" -m 755 "$app/bin"
# From here on, relative paths are the installed copy's (and ocpizza can read the working directory).
cd "$app"

step "Rust toolchain for $user"
if [ -n "$BINARIES" ]; then
    echo "not needed: prebuilt binaries from $BINARIES"
elif [ -x "$base/.cargo/bin/cargo" ]; then
    as_app cargo --version
else
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        as_app sh -s -- -y --quiet --profile minimal --default-toolchain stable --no-modify-path
    as_app cargo --version
fi

step "MariaDB and RabbitMQ"
systemctl enable --now mariadb rabbitmq-server
for _ in $(seq 1 60); do mysql_root -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done
mysql_root -e 'SELECT 1' >/dev/null || die "MariaDB does not answer (journalctl -u mariadb)"
timeout 120 rabbitmqctl await_startup >/dev/null || die "RabbitMQ did not start (journalctl -u rabbitmq-server)"
echo "both running"

step "settings ($app/.env)"
created_env=""
if [ ! -f .env ]; then
    install -m 600 -o "$user" -g "$group" .env.example .env
    set_env ENV production
    set_env SECRET_KEY "$(openssl rand -hex 32)"
    set_env DB_PASSWORD "$(openssl rand -hex 24)"
    # Links in e-mails and Stripe's return address. Production refuses http:// (the site is
    # served over TLS once certbot has run, SKIP_CERTBOT or not).
    set_env PUBLIC_URL "https://$DOMAIN/"
    # nginx on this machine is the only proxy whose X-Forwarded-For names the client.
    set_env TRUSTED_PROXIES "127.0.0.1"
    # The example points at localstripe, the local test double.
    set_env STRIPE_API_BASE "https://api.stripe.com"
    created_env=1
    echo "created from .env.example with a random SECRET_KEY and DB_PASSWORD"
fi
chown "$user:$group" .env
chmod 600 .env
load_env
if [ -n "$created_env" ]; then
    later_warnings+=("$app/.env was just created: fill in STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY, STRIPE_WEBHOOK_SECRET (webhook URL https://$DOMAIN/stripe/webhook), SMTP_URL and SMTP_FROM, then run this script again.")
fi
if [ "${STRIPE_SECRET_KEY:-}" = sk_test_ocpizza_local ] || [[ "${STRIPE_API_BASE:-}" == *127.0.0.1* ]]; then
    later_warnings+=("Stripe is not configured: STRIPE_* in $app/.env still hold the local example values; no payment can succeed.")
fi
if [[ "${SMTP_URL:-}" == *127.0.0.1:1025* ]]; then
    later_warnings+=("SMTP_URL in $app/.env still points at the local mail sink (127.0.0.1:1025); no e-mail will leave the server.")
fi
for w in ${later_warnings[@]+"${later_warnings[@]}"}; do warn "$w"; done

step "database ${DB_NAME:-?} and account ${DB_USER:-?}"
[[ "${DB_NAME:-}" =~ ^[A-Za-z0-9_]+$ ]] || die "DB_NAME in .env: use letters, digits and _ only"
[[ "${DB_USER:-}" =~ ^[A-Za-z0-9_]+$ ]] || die "DB_USER in .env: use letters, digits and _ only"
[ -n "${DB_PASSWORD:-}" ] || die "DB_PASSWORD is empty in .env"
case "${DB_HOST:-127.0.0.1}" in
    127.0.0.1 | localhost | ::1)
        pw=$(sql_string "$DB_PASSWORD")
        # Both hosts: the programs connect over TCP (127.0.0.1), the mysql client over the socket.
        mysql_root <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY $pw;
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY $pw;
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY $pw;
ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY $pw;
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'127.0.0.1';
SQL
        unset pw
        echo "ready"
        ;;
    *) echo "DB_HOST=$DB_HOST is another server: create the database and account there yourself" ;;
esac

step "RabbitMQ vhost and account"
broker_local=""
rabbit_vhost=""
RABBITMQ_URL="${RABBITMQ_URL:-}"
if [[ "$RABBITMQ_URL" == amqp://guest:guest@* ]]; then
    # guest may only connect from loopback and sees everything: give the programs their own.
    set_env RABBITMQ_URL "amqp://ocpizza:$(openssl rand -hex 24)@127.0.0.1:5672/ocpizza"
    load_env
    echo "RABBITMQ_URL now uses user ocpizza on vhost ocpizza"
fi
if [[ "$RABBITMQ_URL" =~ ^amqp://([A-Za-z0-9_.-]+):([A-Za-z0-9_.~-]+)@(127\.0\.0\.1|localhost)(:5672)?/([A-Za-z0-9_.-]+|%2[fF])$ ]]; then
    broker_local=1
    rabbit_user=${BASH_REMATCH[1]}
    rabbit_pass=${BASH_REMATCH[2]}
    rabbit_vhost=${BASH_REMATCH[5]}
    case "$rabbit_vhost" in %2f | %2F) rabbit_vhost=/ ;; esac
    if [ "$rabbit_user" != guest ]; then
        rabbitmqctl -q list_vhosts --no-table-headers name | grep -Fxq -- "$rabbit_vhost" ||
            rabbitmqctl -q add_vhost "$rabbit_vhost"
        if rabbitmqctl -q list_users --no-table-headers | cut -f1 | grep -Fxq -- "$rabbit_user"; then
            rabbitmqctl -q authenticate_user "$rabbit_user" "$rabbit_pass" >/dev/null 2>&1 ||
                rabbitmqctl -q change_password "$rabbit_user" "$rabbit_pass"
        else
            rabbitmqctl -q add_user "$rabbit_user" "$rabbit_pass"
        fi
        rabbitmqctl -q set_permissions -p "$rabbit_vhost" "$rabbit_user" '.*' '.*' '.*'
    fi
    unset rabbit_pass
    echo "vhost $rabbit_vhost, user $rabbit_user"
elif [[ "$RABBITMQ_URL" =~ @(127\.0\.0\.1|localhost)[:/] ]]; then
    broker_local=1
    echo "RABBITMQ_URL has a form this script does not manage: check its vhost and user yourself"
else
    echo "RABBITMQ_URL points at another server: its vhost and user are not managed here"
fi

if [ -n "$BINARIES" ]; then
    step "prebuilt binaries from $BINARIES"
    built=$BINARIES
else
    step "release build (cargo build --release --locked --bins; long on a small server)"
    as_app env CARGO_TARGET_DIR="$target" cargo build --release --locked --bins
    built=$target/release
fi
for b in ocpizza ocpizza-worker; do
    # A new file renamed over the old: a running program keeps its binary, no "text file busy".
    install -m 755 "$built/$b" "bin/.$b.new"
    mv -f "bin/.$b.new" "bin/$b"
done
echo "installed bin/ocpizza and bin/ocpizza-worker"

step "configuration check and migrations"
as_app bin/ocpizza check-config || die "fix $app/.env (the message above names the variable) and run this script again"
as_app bin/ocpizza migrate

step "Supervisor programs"
install -m 644 supervisor/ocpizza.conf /etc/supervisor/conf.d/ocpizza.conf
systemctl enable --now supervisor
for _ in $(seq 1 30); do supervisorctl pid >/dev/null 2>&1 && break; sleep 1; done
supervisorctl reread
supervisorctl update

all_running() { # every program of the group RUNNING
    supervisorctl status 'ocpizza:*' 2>/dev/null | awk '$2 != "RUNNING" { bad = 1 } END { exit bad || NR == 0 }'
}
wait_running() {
    for _ in $(seq 1 60); do all_running && return 0; sleep 1; done
    supervisorctl status 'ocpizza:*' || true
    die "not every program is RUNNING after 60 s; see /var/log/ocpizza/*.log, fix and run this script again"
}
# The queues the programs declare (messages/src/topology.rs): one per worker and its dead letters.
queues_declared() {
    local have q
    have=$(rabbitmqctl -q list_queues -p "$rabbit_vhost" --no-table-headers name 2>/dev/null) || return 1
    for q in stock payments kitchen notifications; do
        grep -Fxq "ocpizza.$q" <<<"$have" || return 1
        grep -Fxq "ocpizza.$q.dead" <<<"$have" || return 1
    done
}

# supervisorctl's own exit status is not relied on: wait_running says what runs, and why not.
if [ -f "$marker" ]; then
    # New binaries or settings from this run.
    supervisorctl restart 'ocpizza:*' || true
    wait_running
elif [ -z "$broker_local" ] || [ -z "$rabbit_vhost" ]; then
    supervisorctl start 'ocpizza:*' >/dev/null 2>&1 || true
    wait_running
    echo "the broker is not managed here: restart it cleanly once after this first start (docs/messaging.md)"
else
    # RabbitMQ 3.10 saves a new quorum queue's membership lazily; a crash within minutes of its
    # first declaration leaves the queue without a member (docs/messaging.md). So: let the
    # programs declare the topology, then restart the broker cleanly once, which saves it.
    step "settling the message topology (first install)"
    supervisorctl start 'ocpizza:*' >/dev/null 2>&1 || true
    wait_running
    for _ in $(seq 1 60); do queues_declared && break; sleep 1; done
    queues_declared || die "the programs run but the queues are not declared after 60 s; see /var/log/ocpizza/relay.log"
    supervisorctl stop 'ocpizza:*'
    systemctl restart rabbitmq-server
    timeout 120 rabbitmqctl await_startup >/dev/null || die "RabbitMQ did not come back (journalctl -u rabbitmq-server)"
    supervisorctl start 'ocpizza:*' || true
    wait_running
    touch "$marker"
    echo "topology declared and saved"
fi

step "nginx"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
upstream="$HOST:$PORT"
case "$HOST" in
    0.0.0.0) upstream="127.0.0.1:$PORT" ;;
    ::) upstream="[::1]:$PORT" ;;
    *:*) upstream="[$HOST]:$PORT" ;;
esac
install -d /var/www/certbot /etc/nginx/snippets /etc/nginx/sites-enabled
install -m 644 deploy/nginx/ocpizza-locations.conf /etc/nginx/snippets/ocpizza-locations.conf
systemctl enable --now nginx
# Installs one of the site templates; a configuration nginx refuses is taken back at once.
install_site() {
    local backup=""
    if [ -f "$site" ]; then backup=$(mktemp); cp -p "$site" "$backup"; fi
    sed -e "s/ocpizza\.example\.fr/$DOMAIN/g" -e "s/127\.0\.0\.1:8000/$upstream/" "$1" >"$site.tmp"
    mv -f "$site.tmp" "$site"
    ln -sfn "$site" /etc/nginx/sites-enabled/ocpizza
    rm -f /etc/nginx/sites-enabled/default
    if ! nginx -t; then
        if [ -n "$backup" ]; then mv -f "$backup" "$site"; else rm -f "$site" /etc/nginx/sites-enabled/ocpizza; fi
        die "nginx refused $1 (rendered for $DOMAIN); the previous site is back"
    fi
    [ -z "$backup" ] || rm -f "$backup"
    systemctl reload nginx
}
if [ "$SKIP_CERTBOT" = 1 ]; then
    install_site deploy/nginx/ocpizza-http.conf
    scheme=http
    later_warnings+=("SKIP_CERTBOT=1: plain HTTP only. ENV=production sets Secure cookies, so logging in needs HTTPS: run this script again without SKIP_CERTBOT once $DOMAIN points at this server.")
else
    if [ ! -f "$cert" ]; then
        # The HTTPS site cannot pass `nginx -t` without its certificate: serve HTTP first, for
        # certbot's challenge in /var/www/certbot.
        install_site deploy/nginx/ocpizza-http.conf
        step "certificate for $DOMAIN (certbot, webroot)"
        certbot certonly --webroot -w /var/www/certbot -d "$DOMAIN" -m "$ADMIN_EMAIL" --agree-tos -n ||
            die "certbot failed: does $DOMAIN point at this server and is port 80 open? (or SKIP_CERTBOT=1)"
    fi
    # certbot.timer renews; nginx only loads a renewed certificate on reload.
    install -d /etc/letsencrypt/renewal-hooks/deploy
    cat >/etc/letsencrypt/renewal-hooks/deploy/reload-nginx.sh <<'EOF'
#!/bin/sh
# Installed by OC Pizza's deploy/install.sh: nginx uses a renewed certificate only after a reload.
systemctl reload nginx
EOF
    chmod 755 /etc/letsencrypt/renewal-hooks/deploy/reload-nginx.sh
    systemctl enable --now certbot.timer 2>/dev/null || warn "certbot.timer not found: check that certificates renew (certbot renew --dry-run)"
    install_site deploy/nginx/ocpizza.conf
    scheme=https
fi

step "nightly backups (systemd timer, 02:00 Europe/Paris)"
install -m 644 deploy/systemd/ocpizza-backup.service deploy/systemd/ocpizza-backup.timer /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now ocpizza-backup.timer
if [ -f /etc/cron.d/ocpizza-backup ]; then
    later_warnings+=("/etc/cron.d/ocpizza-backup exists as well as the timer: remove one of them (two dumps a night).")
fi

step "done"
supervisorctl status 'ocpizza:*' || true
for w in ${later_warnings[@]+"${later_warnings[@]}"}; do warn "$w"; done
cat <<MSG

OC Pizza runs at $scheme://$DOMAIN/
  programs:  supervisorctl status 'ocpizza:*'     logs: /var/log/ocpizza/
  load data: cd $app && sudo -u $user bin/ocpizza feed-db -d FILE.csv   (docs/feed-db.md)
  backups:   systemctl list-timers ocpizza-backup.timer; bash deploy/backup.sh list
  update:    sudo bash $app/deploy/update.sh
MSG
