#!/usr/bin/env bash
# Builds the Debian 12 (bookworm) root file system the install test boots with systemd-nspawn:
# a minimal system plus the packages deploy/install.sh installs, already downloaded, so that the
# test can boot it with a private network (loopback only) and install.sh finds them present.
#
#   bash tests/container/image.sh DIR
#
# Packages are installed with the host's network while every service is kept from starting
# (policy-rc.d): the host's own MariaDB, RabbitMQ and nginx hold their ports. DIR/.complete is
# written last; a DIR without it is a failed build and is started over. The test caches DIR
# (tests/src/container.rs) and rebuilds it when this file changes.
set -euo pipefail

dir=${1:?usage: image.sh DIR}
[ "$(id -u)" -eq 0 ] || { echo "image.sh: run as root (debootstrap, systemd-nspawn)" >&2; exit 1; }

missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The Debian archive this machine's apt uses (deb822 or one-line sources).
mirror=$(grep -hoE '^URIs: *https?://[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 | sed 's/^URIs: *//' || true)
if [ -z "$mirror" ]; then
    mirror=$(grep -hoE '^deb +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '{ print $2 }' | grep -v security | head -n1 || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

rm -rf "$dir"
mkdir -p "$dir"
echo "debootstrap bookworm from $mirror"
debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,ca-certificates,curl,sudo,iproute2 \
    bookworm "$dir" "$mirror" >"$dir.debootstrap.log" 2>&1 ||
    { tail -n 30 "$dir.debootstrap.log" >&2; exit 1; }
rm -f "$dir.debootstrap.log"

cat >"$dir/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
EOF
# Installed, never started here.
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
chmod 755 "$dir/usr/sbin/policy-rc.d"

# What deploy/install.sh installs when given prebuilt binaries (no compiler), and python3 for
# the test's SMTP sink.
packages=(git ca-certificates openssl rsync gzip mariadb-server rabbitmq-server supervisor nginx
          certbot python3-certbot-nginx python3)
nspawn() { systemd-nspawn -q -D "$dir" --register=no --keep-unit --pipe "$@"; }
nspawn env DEBIAN_FRONTEND=noninteractive apt-get update -qq
nspawn env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
nspawn apt-get clean
rm -f "$dir/usr/sbin/policy-rc.d"
# A machine name the container boots with resolves (RabbitMQ's node is rabbit@<hostname>).
echo ocpizza-ct >"$dir/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 ocpizza-ct\n::1 localhost\n' >"$dir/etc/hosts"
# The console is not used; nothing waits for a login there.
nspawn systemctl mask console-getty.service getty@tty1.service >/dev/null 2>&1 || true
touch "$dir/.complete"
echo "image ready in $dir"
