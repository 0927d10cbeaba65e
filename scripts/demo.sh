#!/usr/bin/env bash
# Starts two private Tomcat 10 instances (127.0.0.2:8009 and 127.0.0.3:8009, jvmRoute tomcat1
# and tomcat2) and a private httpd 2.4 (own ServerRoot under target/demo) that loads our module
# with the user's seed configuration (workers.properties and 000-default.conf, unchanged), and
# stops all of them on Ctrl-C. The seed's <VirtualHost *:80> answers on port 80 (DEMO_PORT to
# change the listening port; the seed's vhost only matches port 80).
#
# The seed names its Tomcats by the host names `app` and `app2`. When they do not resolve and
# we are root, the demo adds `127.0.0.2 app` and `127.0.0.3 app2` to /etc/hosts (and says so);
# otherwise it uses a generated copy of workers.properties in which only those two host lines
# name the addresses.
#
# httpd.conf comes from apache-conf/private-httpd.conf.in, the Tomcats from scripts/tomcat.sh
# (sessions kept across restarts, C1 JIT, 256 MB heap); DEMO_TOMCAT_ARGS adds options of
# `scripts/tomcat.sh start`, e.g. "--jit full --heap 1g" or "--sessions none".
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_PORT:-80}
dir=$top/target/demo
so=$top/target/release/libmod_jk.so
mods=${APACHE_MODULES:-/usr/lib/apache2/modules}
mkdir -p "$dir/logs" "$dir/htdocs"
chmod 755 "$dir" "$dir/logs" "$dir/htdocs"
echo "mod_jk-rs demo: static page" > "$dir/htdocs/index.html"
mkdir -p /var/log/apache2 2>/dev/null || true
workers=$top/tests/fixtures/seed/workers.properties
if ! getent hosts app >/dev/null || ! getent hosts app2 >/dev/null; then
  if [ "$(id -u)" = 0 ] && [ -w /etc/hosts ]; then
    getent hosts app >/dev/null || echo "127.0.0.2 app" >> /etc/hosts
    getent hosts app2 >/dev/null || echo "127.0.0.3 app2" >> /etc/hosts
    echo "added 'app' (127.0.0.2) and 'app2' (127.0.0.3) to /etc/hosts for the seed's workers.properties"
  else
    sed -e 's/^worker.tomcat1.host=app$/worker.tomcat1.host=127.0.0.2/' \
        -e 's/^worker.tomcat2.host=app2$/worker.tomcat2.host=127.0.0.3/' "$workers" > "$dir/workers.properties"
    workers=$dir/workers.properties
    echo "using $workers: the seed with host names app/app2 replaced by 127.0.0.2/127.0.0.3"
  fi
fi
user=""
if [ "$(id -u)" = 0 ]; then user='User www-data\nGroup www-data'; fi
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|" -e "s|@LOGLEVEL@|info|" -e "s|@MODULES@|$mods|g" \
    -e "s|@MPM_CONF@||" -e "s|@MPM@|event|g" -e "s|@USER@|$user|" \
    "$top/apache-conf/private-httpd.conf.in" > "$dir/httpd.conf"
cat >> "$dir/httpd.conf" <<CONF
LoadModule jk_module $so
JkWorkersFile $workers
JkLogFile logs/mod_jk.log
JkShmFile logs/jk-runtime-status
Include $top/tests/fixtures/seed/000-default.conf
CONF
# httpd by its pid file, when that pid is still our httpd: TERM (its children go with it), then
# KILL after 10 s.
stop_httpd() {
  local pid
  pid=$(cat "$dir/httpd.pid" 2>/dev/null) || return 0
  if grep -qF -- "$dir/httpd.conf" "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/httpd.pid"
}
# What a previous demo left running (killed without its clean-up), by its pid files.
stop_httpd
tomcat=$top/scripts/tomcat.sh
for n in 1 2; do
  "$tomcat" stop "$dir/tomcat$n" >/dev/null 2>&1 || true
done
busy=()
for a in 127.0.0.1:$port 127.0.0.2:8009 127.0.0.2:8080 127.0.0.3:8009 127.0.0.3:8080; do
  if (exec 3<>"/dev/tcp/${a%:*}/${a##*:}") 2>/dev/null; then busy+=("$a"); fi
done
if [ ${#busy[@]} -gt 0 ]; then
  echo "in use: ${busy[*]}. The demo needs them free (a system apache2 or tomcat10? systemctl stop" \
       "apache2 tomcat10; DEMO_PORT=... moves httpd off port 80)" >&2
  exit 1
fi

# Stops httpd and both Tomcats by their pids, however the script ends (Ctrl-C, TERM, an error).
stop_all() {
  stop_httpd
  "$tomcat" stop "$dir/tomcat1"
  "$tomcat" stop "$dir/tomcat2"
  echo
  echo "stopped"
}
trap stop_all EXIT
trap 'exit 0' INT TERM
echo "starting Tomcat tomcat1 on 127.0.0.2:8009 and tomcat2 on 127.0.0.3:8009 ..."
for n in 1 2; do
  # shellcheck disable=SC2086 # DEMO_TOMCAT_ARGS: several options
  "$tomcat" start "$dir/tomcat$n" --address "127.0.0.$((n + 1))" --route "tomcat$n" \
    --sessions file ${DEMO_TOMCAT_ARGS:-} >/dev/null
done
if ! out=$(apache2 -t -f "$dir/httpd.conf" 2>&1); then echo "$out" >&2; exit 1; fi
apache2 -f "$dir/httpd.conf" -k start
for _ in $(seq 1 50); do [ -s "$dir/httpd.pid" ] && break; sleep 0.1; done
echo "httpd with mod_jk-rs runs on http://127.0.0.1:$port/ (pid $(cat "$dir/httpd.pid"))"
echo "  app:       http://127.0.0.1:$port/app/session.jsp"
echo "  jkmanager: http://127.0.0.1:$port/jkmanager/"
echo "  logs:      $dir/logs/ (error.log, mod_jk.log)"
echo "Ctrl-C to stop."
while kill -0 "$(cat "$dir/httpd.pid" 2>/dev/null)" 2>/dev/null; do sleep 1; done
