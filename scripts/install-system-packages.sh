#!/usr/bin/env bash
# Debian packages the course needs beyond Python wheels. Installs only what is missing,
# so a machine that has them (or a user without root who already has them) is untouched.
set -euo pipefail
needed=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || needed+=("$pkg")
done
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${needed[*]}; install them with: sudo apt-get install ${needed[*]}" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
