#!/usr/bin/env bash
# make test-httpd-image: the host tier of the official httpd:2.4 image. Its httpd (built by
# scripts/httpd-image.sh from Debian's apache2 source with the image's configure flags, staged
# in target/httpd-image) runs from /usr/local/apache2 with our package installed the way the
# seed's lb.dockerfile installs libapache2-mod-jk, and the seed's own files:
#   apt-get install ./libapache2-mod-jk-rs_*.deb
#   the seed's workers.properties as /etc/libapache2-mod-jk/workers.properties
#   httpd.conf += Include /etc/apache2/mods-available/jk.load, JkWorkersFile, the seed's
#                 000-default.conf; mkdir /var/log/apache2 (the seed's vhost logs there)
# Only what a loopback test needs is changed: `Listen 80` and `*:80` become 127.0.2.11 and a
# free port, the seed's Tomcats app and app2 two ajp-test-servers on 127.0.2.12 and
# 127.0.2.13. For each MPM (event, the image's default; worker; prefork): `httpd -t`, the
# image's way of running it (`httpd -DFOREGROUND`), /jkmanager/ (the status worker), /app over
# both members, a graceful restart (`-k graceful`) and a plain one (SIGHUP) each serving again,
# then the image's STOPSIGNAL (SIGWINCH, graceful stop) ending every process. With only
# jk.load (no jk.conf) the module logs to Debian's /var/log/apache2/mod_jk.log.
# Everything runs in a private mount namespace: /etc, /usr, /var and /run are overlays (the
# machine is not changed) and /usr/local/apache2 an overlay of the staged build. Every process
# started here is stopped by its pid. Each MPM's line prints how long the restarts and the stop
# took; HTTPD_IMAGE_MODULE=debian runs the same with Debian's libapache2-mod-jk (installed on
# this machine) instead of our package, for comparison.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
fail() { echo "httpd-image-test: FAILED: $*" >&2; exit 1; }
step() { echo "httpd-image-test: $*" >&2; }
. "$top/scripts/lib/private-root.sh"

if [ "${1:-}" != --inside ]; then
  [ "$(id -u)" = 0 ] || fail "needs root (dpkg and mount namespaces)"
  deb=$(package_deb)
  stage=$("$top/scripts/httpd-image.sh")
  exec unshare --mount --propagation private "$0" --inside "$deb" "$stage"
fi
deb=$2 stage=$3
server=$(test_server)
seed=$top/tests/fixtures/seed
prefix=/usr/local/apache2

work=$(mktemp -d /tmp/jkrs-httpd-image.XXXXXX)
pids=()
httpd_pid=
cleanup() {
  set +e
  if [ -n "$httpd_pid" ] && kill -0 "$httpd_pid" 2>/dev/null; then
    kill -TERM "$httpd_pid"
    for _ in $(seq 100); do kill -0 "$httpd_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  umount "$prefix" 2>/dev/null
  private_root_end
  rm -rf "$work"
}
trap cleanup EXIT
private_root "$work"
mkdir -p "$prefix" "$work/httpd-up" "$work/httpd-work"
mount -t overlay overlay \
  -o "lowerdir=$stage,upperdir=$work/httpd-up,workdir=$work/httpd-work" "$prefix"
"$prefix/bin/httpd" -v | head -1 >&2

export DEBIAN_FRONTEND=noninteractive
if [ "${HTTPD_IMAGE_MODULE:-ours}" = debian ]; then
  step "the seed's lb.dockerfile, with Debian's libapache2-mod-jk (for comparison)"
  [ "$(dpkg-query -W -f='${Status}' libapache2-mod-jk)" = "install ok installed" ] \
    || fail "libapache2-mod-jk is not installed"
else
  step "the seed's lb.dockerfile, with our package"
  apt-get install -y --no-install-recommends "$deb" > "$work/apt.log" 2>&1 \
    || { cat "$work/apt.log" >&2; fail "apt-get install ./$(basename "$deb")"; }
fi
free_port() {
  python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$1"
}
port=$(free_port 127.0.2.11)
p1=$(free_port 127.0.2.12)
p2=$(free_port 127.0.2.13)
"$server" --listen "127.0.2.12:$p1" > "$work/ajp1.log" 2>&1 & pids+=($!)
"$server" --listen "127.0.2.13:$p2" > "$work/ajp2.log" 2>&1 & pids+=($!)
sed -e "s/^worker.tomcat1.host=app$/worker.tomcat1.host=127.0.2.12/" \
    -e "s/^worker.tomcat2.host=app2$/worker.tomcat2.host=127.0.2.13/" \
    -e "s/^worker.tomcat1.port=8009$/worker.tomcat1.port=$p1/" \
    -e "s/^worker.tomcat2.port=8009$/worker.tomcat2.port=$p2/" \
    "$seed/workers.properties" > /etc/libapache2-mod-jk/workers.properties
sed "s/<VirtualHost \*:80>/<VirtualHost *:$port>/" "$seed/000-default.conf" \
  > "$prefix/conf/extra/000-default.conf"
mkdir -p /var/log/apache2
conf=$prefix/conf/httpd.conf
sed -i "s/^Listen 80$/Listen 127.0.2.11:$port/" "$conf"
cat >> "$conf" <<CONF
Include /etc/apache2/mods-available/jk.load
JkWorkersFile /etc/libapache2-mod-jk/workers.properties
Include conf/extra/000-default.conf
CONF

http() { curl -s -o "$work/body" -w '%{http_code}' --max-time 10 "http://127.0.2.11:$port$1"; }
served() { grep -c "conn=" "$1" 2>/dev/null || true; }
wait_serving() {
  local t0
  t0=$(now)
  for _ in $(seq 300); do
    if [ "$(http /app/ready)" = 200 ]; then
      serving=$(since "$t0")
      return 0
    fi
    sleep 0.05
  done
  tail -20 "$work/httpd.err" >&2
  fail "$1: not serving /app"
}
children_of() { ps -o pid= --ppid "$1" | tr -d ' '; }
# Process $1 has exited (gone, or a zombie not reaped yet).
exited() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo Z)" = Z ]; }
now() { date +%s.%N; }
since() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.3f}")' "$1" "$(now)"; }

for mpm in event worker prefork; do
  step "$mpm: httpd -t"
  sed -i -E "s#^LoadModule mpm_[a-z]+_module modules/mod_mpm_[a-z]+.so#LoadModule mpm_${mpm}_module modules/mod_mpm_${mpm}.so#" "$conf"
  grep -q "^LoadModule mpm_${mpm}_module" "$conf" || fail "no MPM line"
  "$prefix/bin/httpd" -t > "$work/t.log" 2>&1 || { cat "$work/t.log" >&2; fail "$mpm: httpd -t"; }
  grep -q "Syntax OK" "$work/t.log" || fail "$mpm: httpd -t said $(cat "$work/t.log")"
  : > /var/log/apache2/mod_jk.log
  rm -f "$prefix/logs/httpd.pid"
  # The image's CMD (httpd-foreground: httpd -DFOREGROUND), in its own session.
  setsid "$prefix/bin/httpd" -DFOREGROUND > "$work/httpd.out" 2> "$work/httpd.err" < /dev/null &
  for _ in $(seq 100); do
    httpd_pid=$(cat "$prefix/logs/httpd.pid" 2>/dev/null || true)
    [ -n "$httpd_pid" ] && break
    sleep 0.1
  done
  [ -n "$httpd_pid" ] || fail "$mpm: no pid file"
  wait_serving "$mpm start"
  code=$(http /jkmanager/)
  [ "$code" = 200 ] && grep -q loadbalancer "$work/body" || fail "$mpm: /jkmanager/ $code"
  b1=$(served "$work/ajp1.log") b2=$(served "$work/ajp2.log")
  for i in $(seq 10); do
    [ "$(http "/app/r$i")" = 200 ] || fail "$mpm: /app/r$i"
  done
  [ "$(served "$work/ajp1.log")" -gt "$b1" ] && [ "$(served "$work/ajp2.log")" -gt "$b2" ] \
    || fail "$mpm: /app not balanced over both members"
  times=""
  for sig in USR1 HUP; do
    old=$(children_of "$httpd_pid")
    t0=$(now)
    kill -"$sig" "$httpd_pid"
    for _ in $(seq 300); do
      still=0
      for c in $old; do exited "$c" || still=1; done
      [ $still = 0 ] && break
      sleep 0.05
    done
    [ $still = 0 ] || fail "$mpm: old children left after SIG$sig"
    gone=$(since "$t0")
    wait_serving "$mpm after SIG$sig"
    times="$times SIG$sig: old children gone ${gone} s, serving ${serving:-?} s;"
  done
  grep -q "initialized" /var/log/apache2/mod_jk.log || fail "$mpm: nothing in /var/log/apache2/mod_jk.log"
  grep -q "No JkLogFile defined in httpd.conf. Using default /var/log/apache2/mod_jk.log" \
    "$work/httpd.err" || fail "$mpm: no JkLogFile warning"
  if grep -E "panic|exit signal|still did not exit" "$work/httpd.err"; then
    fail "$mpm: see httpd's error log above"
  fi
  kids=$(children_of "$httpd_pid")
  t0=$(now)
  kill -WINCH "$httpd_pid"
  for _ in $(seq 300); do exited "$httpd_pid" && break; sleep 0.02; done
  exited "$httpd_pid" || fail "$mpm: httpd still running after SIGWINCH"
  stopped=$(since "$t0")
  for c in $kids; do exited "$c" || fail "$mpm: child $c left"; done
  httpd_pid=
  step "$mpm: passed;$times SIGWINCH (graceful stop): exited ${stopped} s"
done
# The gateways of deploy/compose and deploy/swarm: their workers.properties and vhost pass
# `httpd -t` in this httpd with this package (their Tomcats' names do not resolve here).
for stack in compose swarm; do
  cp "$top/deploy/$stack/gateway/workers.properties" /etc/libapache2-mod-jk/workers.properties
  sed "s/<VirtualHost \*:80>/<VirtualHost *:$port>/" "$top/deploy/compose/gateway/000-default.conf" \
    > "$prefix/conf/extra/000-default.conf"
  "$prefix/bin/httpd" -t > "$work/t.log" 2>&1 || { cat "$work/t.log" >&2; fail "deploy/$stack: httpd -t"; }
  step "deploy/$stack/gateway: httpd -t: $(tail -1 "$work/t.log")"
done
owner=$(dpkg -S /usr/lib/apache2/modules/mod_jk.so | cut -d: -f1)
step "passed ($("$prefix/bin/httpd" -v | head -1 | sed 's/Server version: //'), $(dpkg-query -W -f='${Package} ${Version}' "$owner"))"
