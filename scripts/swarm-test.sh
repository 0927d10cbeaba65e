#!/usr/bin/env bash
# make test-swarm: deploy/swarm/stack.yaml in a single-node docker swarm (Debian's docker.io),
# with 20 testers (scripts/testers.py) clicking through the gateway:
#   1. `docker service update --force <stack>_tomcat`: the start-first rolling update of every
#      Tomcat task: 0 failed requests, 0 re-logins; the longest click is printed;
#   2. `docker service scale <stack>_tomcat=3`, a second group of testers logging in over 10 s
#      (so some sessions land on the third task), then `=2`: 0 failed requests (the removed
#      task's own sessions are lost with it: those testers log in again, counted and printed).
# The images: the base images of make test-image (httpd:2.4 rebuilt on debootstrap'd trixie,
# the tomcat:10.1 and mariadb:11 stand-ins; IMAGE_BUILD_ONLY=1 builds them when missing) are
# copied from podman's store into docker's, then the gateway and Tomcat images are built by
# `docker build` exactly as stack.yaml's header says. dockerd is started here when none
# answers, and swarm initialised (advertised on 127.0.0.1) when the node is in none; both are
# undone at the end, and the stack removed (SWARM_KEEP=1 keeps everything for a look). The
# gateway publishes port 8000 (host mode), which must be free. Needs root; make deb first.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
fail() { echo "swarm-test: FAILED: $*" >&2; exit 1; }
step() { echo "swarm-test: $*" >&2; }
[ "$(id -u)" = 0 ] || fail "needs root"
cache=$top/target/swarm
mkdir -p "$cache"
export CONTAINERS_CONF=$top/deploy/image/containers.conf
ls "$top"/target/deb/libapache2-mod-jk-rs_*.deb > /dev/null 2>&1 || fail "no target/deb/libapache2-mod-jk-rs_*.deb: run make deb"
suite=${SWARM_SUITE:-trixie}
stack=${SWARM_STACK:-jkrs}
port=8000
url=http://127.0.0.1:$port
started_dockerd= joined_swarm=
D() { docker "$@"; }
since() { python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }

cleanup() {
  set +e
  if [ "${SWARM_KEEP:-0}" = 1 ]; then
    step "kept the stack $stack (SWARM_KEEP=1): docker stack rm $stack"
    return
  fi
  [ -n "${tpids:-}" ] && kill $tpids 2> /dev/null
  D stack rm "$stack" > /dev/null 2>&1
  for _ in $(seq 60); do
    [ -z "$(D ps -aq -f "label=com.docker.stack.namespace=$stack")" ] && break
    sleep 1
  done
  D volume rm "${stack}_members" "${stack}_sessions" "${stack}_db" > /dev/null 2>&1
  [ -n "$joined_swarm" ] && D swarm leave --force > /dev/null 2>&1
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2> /dev/null
    for _ in $(seq 100); do kill -0 "$started_dockerd" 2> /dev/null || break; sleep 0.2; done
  fi
}
trap cleanup EXIT

# 1. The base images (podman's store), as make test-image builds them.
if ! podman image exists "local/httpd:2.4-$suite" || ! podman image exists docker.io/library/tomcat:10.1 \
   || ! podman image exists docker.io/library/mariadb:11; then
  step "base images (make test-image's, build only)"
  IMAGE_BUILD_ONLY=1 IMAGE_SUITES=$suite "$top/scripts/image-test.sh"
fi

# 2. dockerd and a single-node swarm.
if ! D info > /dev/null 2>&1; then
  command -v dockerd > /dev/null || fail "no dockerd (apt-get install docker.io)"
  step "starting dockerd (log: $cache/dockerd.log)"
  dockerd > "$cache/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 120); do D info > /dev/null 2>&1 && break; sleep 0.5; done
  D info > /dev/null 2>&1 || { tail -20 "$cache/dockerd.log" >&2; fail "dockerd did not answer"; }
fi
if [ "$(D info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
  D swarm init --advertise-addr 127.0.0.1 > /dev/null
  joined_swarm=1
fi
python3 -c 'import socket,sys; s=socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1])))' "$port" 2> /dev/null \
  || fail "port $port is taken (the stack's gateway publishes it)"

# 3. Images: the base images copied into docker's store when docker lacks them (same image
#    ids), the stack's two images built by docker build from the repository root.
podman tag "local/httpd:2.4-$suite" docker.io/library/httpd:2.4
copy=()
for img in docker.io/library/httpd:2.4 docker.io/library/tomcat:10.1 docker.io/library/mariadb:11; do
  want=$(podman image inspect --format '{{.Id}}' "$img")
  have=$(D image inspect --format '{{.Id}}' "${img#docker.io/library/}" 2> /dev/null || true)
  [ "$have" = "sha256:$want" ] || copy+=("$img")
done
if [ ${#copy[@]} -gt 0 ]; then
  step "copying ${copy[*]} from podman to docker"
  rm -f "$cache/base.tar"
  podman save -m -o "$cache/base.tar" "${copy[@]}" > /dev/null 2>&1
  D load -i "$cache/base.tar" > /dev/null
  rm -f "$cache/base.tar"
fi
step "docker build: the gateway and Tomcat images (logs: $cache/build-*.log)"
(cd "$top" && D build -f deploy/compose/gateway/Dockerfile -t mod-jk-rs/gateway-swarm \
  --build-arg WORKERS=deploy/swarm/gateway/workers.properties . > "$cache/build-gateway.log" 2>&1) \
  || { tail -20 "$cache/build-gateway.log" >&2; fail "docker build of the gateway"; }
(cd "$top" && D build -f deploy/compose/tomcat/Dockerfile -t mod-jk-rs/tomcat-swarm \
  --build-arg CONTEXT=deploy/swarm/tomcat/context.xml . > "$cache/build-tomcat.log" 2>&1) \
  || { tail -20 "$cache/build-tomcat.log" >&2; fail "docker build of the Tomcat"; }

# 4. The stack, on fresh volumes (a state file left by an earlier run would bring its members
#    back).
D volume rm "${stack}_members" "${stack}_sessions" "${stack}_db" > /dev/null 2>&1 || true
D stack deploy --resolve-image never -c "$top/deploy/swarm/stack.yaml" "$stack" > /dev/null
t0=$(date +%s.%N)
body() { curl -s --max-time 10 "$@"; }
members() {  # the gateway's lb members: "name route lifecycle/activation" lines
  body "$url/jkmanager/?mime=json" | python3 -c '
import json, sys
try:
    lb = next(b for b in json.load(sys.stdin)["balancers"] if b["name"] == "loadbalancer")
except Exception:
    sys.exit(0)
for m in lb["members"]:
    print(m["name"], m.get("route", ""), m.get("lifecycle", "-"), m.get("activation", "-"))'
}
routes_active() {  # how many members serve with a learned route tcN
  members | awk '$2 ~ /^tc[0-9]+$/ && $3 == "active" && $4 == "ACT"' | wc -l
}
ok=
for _ in $(seq 360); do
  [ "$(routes_active)" -ge 2 ] && ok=1 && break
  sleep 0.5
done
[ -n "$ok" ] || { members >&2; D service ps "$stack"_tomcat >&2; D service logs --tail 30 "$stack"_gateway >&2; fail "the gateway has not found both Tomcat tasks"; }
nodes=""
for _ in $(seq 8); do nodes="$nodes $(body "$url/app/session.jsp" | sed -n 's/.*node=\([^ ]*\).*/\1/p')"; done
grep -q tc1 <<< "$nodes" && grep -q tc2 <<< "$nodes" || fail "new sessions not on both tasks: $nodes"
step "stack up in $(since "$t0") s; members: $(members | tr '\n' ';')"

testers() {  # testers OUT [ARGS...] -> starts testers.py in the background, its pid in tpid
  local out=$1; shift
  python3 "$top/scripts/testers.py" "$url" 900 "$@" > "$out" &
  tpid=$!
  tpids="${tpids:-} $tpid"
}
check() {  # check NAME JSON MAX_RELOGINS
  python3 - "$1" "$2" "$3" << 'EOF' || fail "$1: see above"
import json, sys
name, r, most = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
print(f"swarm-test: {name}: {r['requests']} requests, {r['failed']} failed, {r['relogins']} "
      f"re-logins, longest click {r['longest_ms'] / 1000:.2f} s", file=sys.stderr)
for e in r["events"][:20]:
    print(f"swarm-test:   {e}", file=sys.stderr)
sys.exit(r["failed"] != 0 or r["relogins"] > most or r["requests"] == 0)
EOF
}

# 5. The rolling update: every task replaced, start-first.
stopf=$cache/testers-stop
rm -f "$stopf"
testers "$cache/update.json" --stop-file "$stopf"
sleep 3
t0=$(date +%s.%N)
timeout 600 docker service update --force --detach=false "$stack"_tomcat > "$cache/update.log" 2>&1 \
  || { tail -20 "$cache/update.log" >&2; fail "docker service update --force"; }
update_s=$(since "$t0")
sleep 3
touch "$stopf"
wait "$tpid" || fail "testers"
step "docker service update --force ${stack}_tomcat: done in $update_s s"
check "rolling update (20 testers)" "$(cat "$cache/update.json")" 0
D service ps "$stack"_tomcat --format '{{.Name}} {{.DesiredState}} {{.CurrentState}}' | head -6 >&2

# 6. Scale 2 -> 3 -> 2.
rm -f "$stopf"
testers "$cache/scale-a.json" --stop-file "$stopf"
sleep 3
t0=$(date +%s.%N)
timeout 300 docker service scale --detach=false "$stack"_tomcat=3 > "$cache/scale.log" 2>&1 \
  || { tail -20 "$cache/scale.log" >&2; fail "docker service scale =3"; }
ok=
for _ in $(seq 240); do [ "$(routes_active)" -ge 3 ] && ok=1 && break; sleep 0.5; done
[ -n "$ok" ] || { members >&2; fail "the gateway has not found the third task"; }
step "scaled to 3: the third task serves after $(since "$t0") s; members: $(members | tr '\n' ';')"
# Testers who log in now: some of their sessions are the third task's.
testers "$cache/scale-b.json" --stop-file "$stopf" --testers 20 --ramp 10
sleep 12
before=$(members | awk '$2 ~ /^tc[0-9]+$/ && $3 == "active" {print $2}' | sort)
t0=$(date +%s.%N)
timeout 300 docker service scale --detach=false "$stack"_tomcat=2 >> "$cache/scale.log" 2>&1 \
  || { tail -20 "$cache/scale.log" >&2; fail "docker service scale =2"; }
ok=
for _ in $(seq 240); do [ "$(routes_active)" -le 2 ] && ok=1 && break; sleep 0.5; done
[ -n "$ok" ] || { members >&2; fail "the removed task still serves in the gateway"; }
after=$(members | awk '$2 ~ /^tc[0-9]+$/ && $3 == "active" {print $2}' | sort)
gone=$(comm -23 <(echo "$before") <(echo "$after") | head -1)
step "scaled to 2: swarm removed the task of route $gone; it stopped serving in the gateway after $(since "$t0") s"
sleep 5
touch "$stopf"
for p in $tpids; do wait "$p" || fail "testers"; done
tpids=
check "scale 2 -> 3 -> 2 (20 testers from before)" "$(cat "$cache/scale-a.json")" 0
# The second group: the removed task's sessions are lost with it (one re-login each); none
# of the others', and no request fails.
on_gone=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["logins_by_route"].get(sys.argv[2], 0))' "$cache/scale-b.json" "$gone")
step "testers logged in while there were 3 tasks: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["logins_by_route"])' "$cache/scale-b.json"); $on_gone on $gone"
# (Which task swarm removes, and where the balancer put those logins, is not ours to choose:
# when none was on the removed task, the run says so.)
[ "$on_gone" -gt 0 ] || step "(no tester of the second group had a session on $gone: its re-login path was not exercised in this run)"
check "scale 3 -> 2 (20 testers logged in while there were 3)" "$(cat "$cache/scale-b.json")" "$on_gone"
if D service logs "$stack"_gateway 2>&1 | grep -E "panic|exit signal"; then fail "see the gateway's log above"; fi
step passed
