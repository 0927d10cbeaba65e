#!/usr/bin/env bash
# Installs the Debian packages the benchmark needs when they are missing:
#   bench/deps.sh PACKAGE...     (e.g. bench/deps.sh wrk apache2)
# apt-get as root, else through sudo; does nothing when everything is installed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "bench: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
