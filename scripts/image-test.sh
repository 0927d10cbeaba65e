#!/usr/bin/env bash
# make test-image: the image tier. For each Debian release (IMAGE_SUITES, default "bookworm
# trixie"): a minbase root from debootstrap imported into podman, the official httpd:2.4 image
# rebuilt on it (deploy/image/httpd.Dockerfile, from Debian's apache2 source tarball), tagged
# httpd:2.4; stand-ins for tomcat:10.1 and mariadb:11 (deploy/image/, from Debian's tomcat10
# and mariadb-server, where no registry is reachable). Then deploy/compose/compose.yaml itself,
# run by podman-compose (PyPI): `up -d --build` builds the gateway (the seed's lb.dockerfile
# with our package: `apt-get install ./libapache2-mod-jk-rs_*.deb`) and the Tomcat from their
# Dockerfiles unchanged and starts the seed's whole system (gateway, tomcat1, tomcat2, db). A
# request through the gateway container reaches a Tomcat container; sessions stick to their
# route; /jkmanager/ answers; the compose acceptance: 20 testers (scripts/testers.py) while
# `podman-compose restart` restarts each Tomcat in turn: no failed request, no re-login; then
# `podman-compose stop gateway` (the image's SIGWINCH) stops it gracefully, well before the
# 10 s SIGKILL. Images and the debootstrap roots are kept (target/image, podman's store), so a
# second run rebuilds only what changed; the project is taken down (`down -v`) at the end
# (IMAGE_KEEP=1 keeps it for a look). The gateway publishes port 8000, which must be free.
# IMAGE_BUILD_ONLY=1 builds the images and stops (make test-swarm uses them). Needs root,
# podman, runc, debootstrap, podman-compose; make deb first.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
fail() { echo "image-test: FAILED: $*" >&2; exit 1; }
step() { echo "image-test: $*" >&2; }
[ "$(id -u)" = 0 ] || fail "needs root"
export CONTAINERS_CONF=$top/deploy/image/containers.conf
cache=$top/target/image
mkdir -p "$cache"
deb=$(ls "$top"/target/deb/libapache2-mod-jk-rs_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no target/deb/libapache2-mod-jk-rs_*.deb: run make deb"
tarball=$(ls "$top"/target/httpd-image/src/apache2_*.orig.tar.gz 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$tarball" ]; then
  "$top/scripts/httpd-image.sh" > /dev/null || true   # fetches the source (and builds)
  tarball=$(ls "$top"/target/httpd-image/src/apache2_*.orig.tar.gz | sort -V | tail -1)
fi
cp "$tarball" "$cache/httpd.tar.gz"
cp "$top/deploy/image/httpd-foreground" "$cache/"
proj=jkrs-compose
compose() { python3 -m podman_compose -p "$proj" -f "$top/deploy/compose/compose.yaml" "$@"; }
cleanup() {
  set +e
  [ "${IMAGE_KEEP:-0}" = 1 ] && { echo "image-test: kept the compose project $proj" >&2; return; }
  compose down -v -t 10 > "$cache/compose-down.log" 2>&1
}
trap cleanup EXIT

base_image() {
  local suite=$1
  if ! podman image exists "local/$suite"; then
    if [ ! -f "$cache/$suite.tar" ]; then
      step "$suite: debootstrap --variant=minbase (log: $cache/debootstrap-$suite.log)"
      rm -rf "$cache/rootfs-$suite"
      debootstrap --variant=minbase "$suite" "$cache/rootfs-$suite" http://deb.debian.org/debian \
        > "$cache/debootstrap-$suite.log" 2>&1 || { tail -20 "$cache/debootstrap-$suite.log" >&2; fail "debootstrap $suite"; }
      tar -C "$cache/rootfs-$suite" -cf "$cache/$suite.tar" .
      rm -rf "$cache/rootfs-$suite"
    fi
    podman import "$cache/$suite.tar" "local/$suite" > /dev/null
  fi
}
build() {  # build TAG LOG ARGS...
  local t=$1 log=$2; shift 2
  podman build -t "$t" "$@" > "$log" 2>&1 || { tail -30 "$log" >&2; fail "podman build $t (log: $log)"; }
}

base_image bookworm
step "tomcat:10.1 stand-in"
build docker.io/library/tomcat:10.1 "$cache/build-tomcat-base.log" \
  --build-arg BASE=local/bookworm -f "$top/deploy/image/tomcat.Dockerfile" "$cache"
step "mariadb:11 stand-in"
build docker.io/library/mariadb:11 "$cache/build-mariadb.log" \
  --build-arg BASE=local/bookworm -f "$top/deploy/image/mariadb.Dockerfile" "$top/deploy/image"
body() { curl -s --max-time 10 "$@"; }

for suite in ${IMAGE_SUITES:-bookworm trixie}; do
  base_image "$suite"
  step "$suite: httpd:2.4 (log: $cache/build-httpd-$suite.log)"
  t0=$(date +%s)
  build "local/httpd:2.4-$suite" "$cache/build-httpd-$suite.log" \
    --build-arg "BASE=local/$suite" -f "$top/deploy/image/httpd.Dockerfile" "$cache"
  podman tag "local/httpd:2.4-$suite" docker.io/library/httpd:2.4
  step "$suite: the gateway (deploy/compose/gateway/Dockerfile)"
  build "local/jkrs-gateway-$suite" "$cache/build-gateway-$suite.log" \
    -f "$top/deploy/compose/gateway/Dockerfile" "$top"
  step "$suite: images ready after $(( $(date +%s) - t0 )) s: $(podman run --rm "local/jkrs-gateway-$suite" httpd -v | head -1); $(podman run --rm "local/jkrs-gateway-$suite" sh -c '. /etc/os-release; echo $PRETTY_NAME; dpkg-query -W -f="\${Package} \${Version}" libapache2-mod-jk-rs')"

  [ "${IMAGE_BUILD_ONLY:-0}" = 1 ] && continue

  cleanup
  python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0", 8000))' 2> /dev/null \
    || fail "port 8000 is taken (compose.yaml's gateway publishes it)"
  step "$suite: podman-compose up -d --build (log: $cache/compose-up-$suite.log)"
  compose up -d --build > "$cache/compose-up-$suite.log" 2>&1 \
    || { tail -30 "$cache/compose-up-$suite.log" >&2; fail "$suite: podman-compose up"; }
  cname() { podman ps -a --filter "label=io.podman.compose.project=$proj" \
    --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -1; }
  gw=$(cname gateway)
  [ -n "$gw" ] || fail "$suite: no gateway container"
  gwip=$(podman inspect "$gw" --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
  url=http://127.0.0.1:8000
  ok=
  for _ in $(seq 240); do
    if body "$url/app/session.jsp" | grep -q "node=tomcat"; then ok=1; break; fi
    sleep 0.5
  done
  if [ -z "$ok" ]; then
    # What the gateway answered last, what it logged, and whether it reaches a Tomcat itself.
    curl -s -o /dev/null -w 'image-test: last answer on :8000: HTTP %{http_code}\n' --max-time 10 "$url/app/session.jsp" >&2 || echo "image-test: no HTTP answer on :8000 (curl $?)" >&2
    podman ps -a --filter "label=io.podman.compose.project=$proj" --format '{{.Names}} {{.Status}} {{.Ports}}' | sed 's/^/image-test:   /' >&2
    podman logs "$gw" 2>&1 | tail -20 >&2
    podman exec "$gw" sh -c 'tail -40 /var/log/apache2/mod_jk.log; getent hosts tomcat1 tomcat2' 2>&1 | sed 's/^/image-test:   gateway: /' >&2
    podman exec "$gw" sh -c 'curl -s -o /dev/null -w "HTTP %{http_code}\n" --max-time 5 http://127.0.0.1/app/session.jsp' 2>&1 | sed 's/^/image-test:   inside the gateway: /' >&2
    podman logs "$(cname tomcat1)" 2>&1 | tail -20 >&2
    fail "$suite: no answer from a Tomcat through the gateway"
  fi
  # New sessions on both Tomcats; a session sticks to its route.
  nodes=""
  for i in $(seq 8); do
    nodes="$nodes $(body "$url/app/session.jsp" | sed -n 's/.*node=\([^ ]*\).*/\1/p')"
  done
  grep -q tomcat1 <<< "$nodes" && grep -q tomcat2 <<< "$nodes" || fail "$suite: not both Tomcats: $nodes"
  cookie=$(curl -s -D - -o /dev/null "$url/app/session.jsp?login=alice" | sed -n 's/^Set-Cookie: \(JSESSIONID=[^;]*\).*/\1/Ip' | tr -d '\r')
  route=${cookie##*.}
  for i in $(seq 5); do
    line=$(body -H "Cookie: $cookie" "$url/app/session.jsp")
    grep -q "user=alice .*node=$route count=$((i + 1))" <<< "$line" || fail "$suite: not sticky: $line"
  done
  code=$(curl -s -o "$cache/jkmanager.html" -w '%{http_code}' --max-time 10 "$url/jkmanager/")
  [ "$code" = 200 ] && grep -q loadbalancer "$cache/jkmanager.html" \
    || { head -c 600 "$cache/jkmanager.html" >&2; fail "$suite: /jkmanager/: $code"; }
  db=$(cname db)
  podman exec "$db" mariadb -uapp -pchange-this-app-password -h 127.0.0.1 app -e 'select 1' > /dev/null \
    || fail "$suite: MariaDB (service db) does not take the app user"
  # IMAGE_ACCEPTANCE=0 skips it.
  if [ "${IMAGE_ACCEPTANCE:-1}" = 1 ]; then
    # The compose acceptance: 20 testers logged in and clicking while `podman-compose
    # restart` restarts each Tomcat in turn (its sessions saved on stop, read at start; the
    # gateway holds their requests meanwhile, hold_timeout): no failed request, no re-login.
    stopf=$cache/testers-stop
    rm -f "$stopf"
    # On the gateway's own address: podman's published port goes through NAT rules that
    # podman rewrites when a container of the network restarts.
    python3 "$top/scripts/testers.py" "http://$gwip" 600 --stop-file "$stopf" > "$cache/testers-$suite.json" &
    tpid=$!
    tstart=$(date +%s.%N)
    sleep 3
    restarts="" moved_to=""
    for n in 1 2; do
      t0=$(date +%s.%N)
      step "$suite: podman-compose restart tomcat$n at $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$tstart" "$t0") s"
      c=$(cname "tomcat$n")
      ip_before=$(podman inspect "$c" --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
      compose restart -t 30 "tomcat$n" > "$cache/compose-restart.log" 2>&1 \
        || { cat "$cache/compose-restart.log" >&2; fail "$suite: podman-compose restart tomcat$n"; }
      for _ in $(seq 600); do
        podman exec "$c" bash -c ': > /dev/tcp/127.0.0.1/8009' 2> /dev/null && break
        sleep 0.1
      done
      ip_after=$(podman inspect "$c" --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
      [ "$ip_before" = "$ip_after" ] || moved_to="$moved_to $ip_after"
      restarts="$restarts tomcat$n $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)") s, address $ip_before -> $ip_after;"
      sleep 3
    done
    touch "$stopf"
    wait "$tpid" || fail "$suite: testers"
    result=$(cat "$cache/testers-$suite.json")
    step "$suite: 20 testers while podman-compose restarted each Tomcat (restart until AJP listens:$restarts): $result"
    if ! python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(r["failed"] or r["relogins"] or not r["requests"])' "$result"; then
      # What the gateway and the Tomcats said about it, for the reader of a CI log.
      step "$suite: the gateway's mod_jk.log (errors and warnings, last 40):"
      podman exec "$gw" grep -hE "\[(error|warn)" /var/log/apache2/mod_jk.log 2> /dev/null | tail -40 | sed 's/^/image-test:   /' >&2
      step "$suite: answers other than 200 in the gateway's access log:"
      podman exec "$gw" awk '$9 != 200' /var/log/apache2/access.log 2> /dev/null | tail -20 | sed 's/^/image-test:   /' >&2
      for n in 1 2; do
        step "$suite: tomcat$n's answers other than 200 and its last log lines:"
        podman exec "$(cname "tomcat$n")" sh -c 'cat logs/localhost_access_log* 2> /dev/null' | awk '$9 != 200' | tail -10 | sed 's/^/image-test:   /' >&2
        podman logs "$(cname "tomcat$n")" 2>&1 | tail -15 | sed 's/^/image-test:   /' >&2
      done
      fail "$suite: failed requests or re-logins during the Tomcat restarts"
    fi
    # A Tomcat that came back on another address is followed by name: the gateway logs it.
    follows=$(podman exec "$gw" grep -h "resolves to" /var/log/apache2/mod_jk.log 2> /dev/null || true)
    sed 's/^/image-test:   /' <<< "$follows" >&2
    for moved in $moved_to; do
      grep -q "resolves to $moved:8009 now" <<< "$follows" \
        || fail "$suite: a Tomcat came back on $moved and the gateway's log says no member followed it there"
    done
  fi
  t0=$(date +%s.%N)
  compose stop -t 10 gateway > /dev/null 2>&1
  stop_s=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$t0" "$(date +%s.%N)")
  python3 -c "import sys; sys.exit(float(sys.argv[1]) >= 9)" "$stop_s" || fail "$suite: podman-compose stop gateway took $stop_s s (killed, not stopped)"
  podman logs "$gw" 2>&1 | grep -qE "caught SIGWINCH|graceful-stop|shutting down" \
    || step "$suite: (no shutdown line in the gateway's log)"
  if podman logs "$gw" 2>&1 | grep -E "panic|exit signal"; then fail "$suite: see above"; fi
  step "$suite: passed: new sessions by route:$(tr ' ' '\n' <<< "$nodes" | grep . | sort | uniq -c | tr -s ' \n' ' '), session $cookie sticky, /jkmanager/, MariaDB, podman-compose stop gateway ${stop_s} s"
  cleanup
done
step passed
