#!/usr/bin/env bash
# Makes sure what a make target needs is installed (make test, demo, bench and bench-smoke call it):
#   scripts/deps.sh [--rust COMPONENT]... PACKAGE...
# Debian packages that `dpkg -s` does not report installed are installed with apt-get when we
# are root (one `apt-get update`, then `apt-get install --no-install-recommends`; their
# output goes to target/deps/apt.log); otherwise it prints the `sudo apt-get install` line to
# run and fails. Services the installation would start (Debian's apache2 on port 80, tomcat10
# on 8080: ports the demo and the tests use) are not started. --rust names a rustup component
# (rustfmt, clippy) that `rustup component add` adds when it is missing. Prints nothing when
# everything is there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rust=() pkgs=()
while [ $# -gt 0 ]; do
  case "$1" in
  --rust) rust+=("$2"); shift 2 ;;
  -*) echo "usage: $0 [--rust COMPONENT]... PACKAGE..." >&2; exit 2 ;;
  *) pkgs+=("$1"); shift ;;
  esac
done

installed() { dpkg -s "$1" 2>/dev/null | grep -x 'Status: install ok installed' >/dev/null; }
missing=()
for p in ${pkgs[@]+"${pkgs[@]}"}; do installed "$p" || missing+=("$p"); done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}. Install them with:" >&2
    echo "  sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  log=$top/target/deps/apt.log
  mkdir -p "$(dirname "$log")"
  : > "$log"
  # A policy-rc.d that denies every action keeps the packages' services from starting
  # (invoke-rc.d and deb-systemd-invoke ask it); an existing one is left alone.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt() {
    if ! "$@" >> "$log" 2>&1; then
      tail -n 30 "$log" >&2
      echo "failed: $* (whole output in $log)" >&2
      exit 1
    fi
  }
  echo "installing ${missing[*]} with apt-get (output in $log) ..."
  apt apt-get update -q
  apt apt-get install -y -q --no-install-recommends "${missing[@]}"
  for p in "${missing[@]}"; do
    installed "$p" || { echo "$p is still not installed; see $log" >&2; exit 1; }
  done
  echo "installed ${missing[*]}"
fi

if [ ${#rust[@]} -gt 0 ]; then
  if command -v rustup >/dev/null; then
    have=$(rustup component list --installed 2>/dev/null || true)
    add=()
    for c in "${rust[@]}"; do
      grep -q "^$c\(-\|$\)" <<<"$have" || add+=("$c")
    done
    if [ ${#add[@]} -gt 0 ]; then
      out=$(rustup component add "${add[@]}" 2>&1) || {
        echo "$out" >&2
        echo "failed: rustup component add ${add[*]}" >&2
        exit 1
      }
    fi
  else
    for c in "${rust[@]}"; do
      case "$c" in
      rustfmt) sub=fmt ;;
      *) sub=$c ;;
      esac
      cargo "$sub" --version >/dev/null 2>&1 || {
        echo "cargo $sub is missing (no rustup to add the $c component): install $c" >&2
        exit 1
      }
    done
  fi
fi
