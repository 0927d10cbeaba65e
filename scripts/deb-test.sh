#!/usr/bin/env bash
# make deb-test: the package target/deb/libapache2-mod-jk-rs_*.deb against Debian's apache2,
# as a user installs it over libapache2-mod-jk, without changing this machine: everything runs
# in a private mount namespace where /etc, /usr, /var and /run are overlays whose changes
# vanish when it ends (needs root and unshare). In there:
#   1. `apt-get install ./libapache2-mod-jk-rs_*.deb` over the installed libapache2-mod-jk:
#      Debian's package is removed, ours owns /usr/lib/apache2/modules/mod_jk.so, jk.load,
#      jk.conf and /etc/libapache2-mod-jk/workers.properties (conffiles), enabled by its
#      postinst (a2enmod jk); jkctl and its man page are installed.
#   2. Debian's apache2 (its own /etc/apache2, on 127.0.2.10 and a free port) with Debian's
#      jk.conf: a JkMount forwards to an ajp-test-server; mod_jk.log and the runtime-status
#      file in /var/log/apache2.
#   3. Without jk.conf (only jk.load, as the seed's image): Debian's built-in paths and the
#      warnings that name what is missing.
#   4. `dpkg -r`: the module is disabled and gone, apache2 still passes -t and serves;
#      `dpkg -P` purges the conffiles.
# Every process started here is stopped by its pid.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
fail() { echo "deb-test: FAILED: $*" >&2; exit 1; }
step() { echo "deb-test: $*" >&2; }
. "$top/scripts/lib/private-root.sh"

if [ "${1:-}" != --inside ]; then
  [ "$(id -u)" = 0 ] || fail "needs root (dpkg and mount namespaces)"
  deb=$(package_deb)
  exec unshare --mount --propagation private "$0" --inside "$deb"
fi
deb=$2
server=$(test_server)

work=$(mktemp -d /tmp/jkrs-deb-test.XXXXXX)
apache_pid= ajp_pid=
cleanup() {
  set +e
  if [ -n "$apache_pid" ] && kill -0 "$apache_pid" 2>/dev/null; then
    kill -TERM "$apache_pid"
    for _ in $(seq 100); do kill -0 "$apache_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  [ -n "$ajp_pid" ] && kill "$ajp_pid" 2>/dev/null
  private_root_end
  rm -rf "$work"
}
trap cleanup EXIT
private_root "$work"

status_of() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true; }
[ "$(status_of libapache2-mod-jk)" = "install ok installed" ] \
  || fail "libapache2-mod-jk is not installed here (make deb-test installs it)"
debian_md5=$(md5sum < /usr/lib/apache2/modules/mod_jk.so)

step "1. apt-get install $deb over libapache2-mod-jk"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "$deb" > "$work/apt.log" 2>&1 \
  || { cat "$work/apt.log" >&2; fail "apt-get install"; }
[ "$(status_of libapache2-mod-jk-rs)" = "install ok installed" ] || fail "ours not installed"
case "$(status_of libapache2-mod-jk)" in
  "install ok installed") fail "libapache2-mod-jk still installed" ;;
esac
owner=$(dpkg -S /usr/lib/apache2/modules/mod_jk.so | cut -d: -f1)
[ "$owner" = libapache2-mod-jk-rs ] || fail "mod_jk.so belongs to $owner"
[ "$(md5sum < /usr/lib/apache2/modules/mod_jk.so)" != "$debian_md5" ] || fail "Debian's mod_jk.so left"
dpkg --verify libapache2-mod-jk-rs || fail "dpkg --verify"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' libapache2-mod-jk-rs)
for f in /etc/apache2/mods-available/jk.load /etc/apache2/mods-available/jk.conf \
         /etc/libapache2-mod-jk/workers.properties; do
  grep -q "^ $f " <<< "$conffiles" || fail "$f is not a conffile: $conffiles"
done
[ -L /etc/apache2/mods-enabled/jk.load ] && [ -L /etc/apache2/mods-enabled/jk.conf ] \
  || fail "jk not enabled by the postinst"
jkctl --version > /dev/null || fail "jkctl"
[ -f /usr/share/man/man1/jkctl.1.gz ] || fail "no man page"
# Every jkctl command is in its man page.
for c in $(jkctl help | sed -n '/^Commands:/,/^$/p' | awk '/^  [a-z]/ {print $1}'); do
  zcat /usr/share/man/man1/jkctl.1.gz | grep -q "$c" || fail "jkctl $c missing from the man page"
done
step "   installed: $(dpkg-query -W -f='${Package} ${Version}' libapache2-mod-jk-rs), libapache2-mod-jk: $(status_of libapache2-mod-jk)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.2.10", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
ajp_port=$(free_port)
"$server" --listen "127.0.2.10:$ajp_port" > "$work/ajp.log" 2>&1 &
ajp_pid=$!
# Debian's apache2 configuration, on a private address and port.
echo "Listen 127.0.2.10:$port" > /etc/apache2/ports.conf
sed -i "s/<VirtualHost \*:80>/<VirtualHost *:$port>/" /etc/apache2/sites-available/000-default.conf
# The packaged workers.properties, its worker at the test server (what a user edits).
sed -i -e "s/^worker.ajp13_worker.host=.*/worker.ajp13_worker.host=127.0.2.10/" \
       -e "s/^worker.ajp13_worker.port=.*/worker.ajp13_worker.port=$ajp_port/" \
       /etc/libapache2-mod-jk/workers.properties
# A mount in the virtual host (mod_jk: the main server's mounts are not copied into it).
sed -i "s|</VirtualHost>|    <IfModule jk_module>\n        JkMount /app/* ajp13_worker\n    </IfModule>\n</VirtualHost>|" \
  /etc/apache2/sites-available/000-default.conf
echo "ServerName 127.0.2.10" > /etc/apache2/conf-enabled/jkrs-test.conf
set +u; set -a; . /etc/apache2/envvars; set +a; set -u
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"

start_apache() {
  apache2 -t > "$work/t.log" 2>&1 || { cat "$work/t.log" >&2; fail "apache2 -t: $1"; }
  apache2 -k start || fail "apache2 -k start: $1"
  for _ in $(seq 100); do
    apache_pid=$(cat "$APACHE_PID_FILE" 2>/dev/null || true)
    [ -n "$apache_pid" ] && curl -s -o /dev/null "http://127.0.2.10:$port/" && return 0
    sleep 0.1
  done
  tail -20 "$APACHE_LOG_DIR/error.log" >&2
  fail "apache2 did not come up: $1"
}
stop_apache() {
  kill -TERM "$apache_pid"
  for _ in $(seq 100); do kill -0 "$apache_pid" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$apache_pid" 2>/dev/null || fail "apache2 did not stop"
  apache_pid=
}
http() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.2.10:$port$1"; }

step "2. Debian's apache2 with jk.load and jk.conf"
start_apache "with jk.conf"
[ "$(http /app/x)" = 200 ] || fail "/app/x through mod_jk: $(http /app/x)"
[ "$(http /)" = 200 ] || fail "/: $(http /)"
grep -q "initialized" /var/log/apache2/mod_jk.log || fail "no mod_jk.log in /var/log/apache2"
[ -e "/var/log/apache2/jk-runtime-status.$apache_pid" ] || fail "no runtime-status file"
grep -q "conn=" "$work/ajp.log" || fail "the test server saw no request"
stop_apache

step "3. Without jk.conf (only jk.load)"
rm /etc/apache2/mods-enabled/jk.conf
: > /var/log/apache2/mod_jk.log
: > /var/log/apache2/error.log
start_apache "without jk.conf"
grep -q "No JkLogFile defined in httpd.conf. Using default /var/log/apache2/mod_jk.log" \
  /var/log/apache2/error.log || { cat /var/log/apache2/error.log >&2; fail "no JkLogFile warning"; }
grep -q "No JkShmFile defined in httpd.conf. Using default /var/log/apache2/jk-runtime-status" \
  /var/log/apache2/error.log || fail "no JkShmFile warning"
grep -q "httpd.conf sets no JkWorkersFile, JkLogFile, JkShmFile" /var/log/apache2/error.log \
  || fail "no warning naming what is missing"
grep -q "initialized" /var/log/apache2/mod_jk.log || fail "nothing in the default mod_jk.log"
[ -e "/var/log/apache2/jk-runtime-status.$apache_pid" ] || fail "no default runtime-status file"
stop_apache

step "4. dpkg -r libapache2-mod-jk-rs"
ln -s ../mods-available/jk.conf /etc/apache2/mods-enabled/jk.conf
dpkg -r libapache2-mod-jk-rs > "$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -r"; }
[ ! -e /usr/lib/apache2/modules/mod_jk.so ] || fail "mod_jk.so left after removal"
[ ! -e /etc/apache2/mods-enabled/jk.load ] || fail "jk.load still enabled after removal"
[ ! -e /usr/bin/jkctl ] || fail "jkctl left"
start_apache "after the removal"
[ "$(http /)" = 200 ] || fail "/ after the removal"
stop_apache
dpkg -P libapache2-mod-jk-rs > "$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -P"; }
[ ! -e /etc/libapache2-mod-jk/workers.properties ] || fail "workers.properties left after purge"
step "passed (all changes were in overlays; they go with this namespace)"
