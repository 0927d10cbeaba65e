#!/usr/bin/env bash
# One private Tomcat 10 (Debian's tomcat10 package) in its own CATALINA_BASE, serving the test
# web application (tests/fixtures/tomcat/ROOT, deployed as ROOT and as each --contexts name).
# The one way this repository starts a Tomcat: the tests (tests/support/tomcat.rs wraps it),
# make demo (scripts/demo.sh), make bench (bench/bench.py) and `jkctl roll --cmd` (a restart
# from a shell command) all call it.
#
#   scripts/tomcat.sh start BASE [OPTION...]  writes BASE/conf, starts `catalina.sh run` in its
#       own session (so the pid in BASE/tomcat.pid is the JVM's: catalina.sh execs java) and
#       waits until the HTTP connector serves /static.txt and the AJP connector answers a CPing;
#       prints the pid. BASE/webapps and BASE/work are kept when they exist (compiled JSPs,
#       SESSIONS.ser, generated files); an empty BASE is a fresh Tomcat.
#   scripts/tomcat.sh stop BASE     SIGTERM (Tomcat saves persistent sessions), SIGKILL to its
#                                   process group after 10 s
#   scripts/tomcat.sh kill BASE     SIGKILL at once: a crash, nothing saved
#   scripts/tomcat.sh restart BASE  stop, then start with the options of the last start
#   scripts/tomcat.sh pid BASE      prints the pid while that Tomcat runs, else exits 1
#
# Options of start (default in brackets):
#   --address ADDR       loopback address of both connectors [127.0.0.1]
#   --ajp-port N         [8009]
#   --http-port N        [8080]
#   --route NAME         the Engine's jvmRoute, the suffix of session ids [none]
#   --node NAME          what session.jsp prints as node= [the route, else ADDR:AJPPORT]
#   --secret S           the AJP secret [none: secretRequired="false", which is why the
#                        connector must listen on loopback only]
#   --ajp-attr K=V       an AJP connector attribute, replacing a default of the same name
#   --http-attr K=V      an HTTP connector attribute
#   --shutdown-port N    the Server's shutdown port [-1: none, Tomcat is stopped by its pid]
#   --sessions MODE      none: sessions end with the JVM; file: SESSIONS.ser in BASE/work,
#                        read again at the next start (Tomcat 10.1 ships this commented out);
#                        store:DIR: a PersistentManager with a FileStore in DIR that Tomcats of
#                        one route share (sessions saved on stop, loaded on demand) [none]
#   --jit c1|full        c1: -XX:TieredStopAtLevel=1, starts fast (tests, demo); full: C1+C2,
#                        for throughput (bench) [c1]
#   --heap SIZE          -Xmx [256m]
#   --heap-min SIZE      -Xms [64m]
#   --contexts A,B       contexts serving the test application besides ROOT ("" for none) [app]
#   --log-level LEVEL    java.util.logging level of the server log [INFO]
#   --access-log on|off  logs/access.log (AccessLogValve) [on]
#   --timeout SECS       how long start waits for both connectors [TOMCAT_START_TIMEOUT or 60]
# Environment: TOMCAT_HOME (CATALINA_HOME) [/usr/share/tomcat10]; TOMCAT_JAVA_OPTS is appended
# to the JVM options.
set -euo pipefail
# bash 5.2 would read `&` in a ${var//pattern/replacement} as the match (XML escaping below).
shopt -u patsub_replacement 2>/dev/null || true

top=$(cd "$(dirname "$0")/.." && pwd)
home=${TOMCAT_HOME:-/usr/share/tomcat10}
usage() {
  echo "usage: $0 start BASE [--address A] [--ajp-port N] [--http-port N] [--route R] [--node N]" \
       "[--secret S] [--ajp-attr K=V] [--http-attr K=V] [--shutdown-port N]" \
       "[--sessions none|file|store:DIR] [--jit c1|full] [--heap SIZE] [--heap-min SIZE]" \
       "[--contexts A,B] [--log-level L] [--access-log on|off] [--timeout S]" \
       "| stop BASE | kill BASE | restart BASE | pid BASE" >&2
  exit 2
}
[ $# -ge 2 ] || usage
cmd=$1
base=$(realpath -m -- "$2")
shift 2

# Whether pid $1 is a live process (a zombie is not: nothing here reaps the JVM, whose parent
# was the start command, and some init processes never do).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# The pid of this BASE's Tomcat while it runs: from BASE/tomcat.pid, and only if that process
# was started for this BASE (its environment says so), so a reused pid is never signalled.
running_pid() {
  local pid
  pid=$(cat "$base/tomcat.pid" 2>/dev/null) || return 1
  alive "$pid" || return 1
  tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qxF "CATALINA_BASE=$base" || return 1
  echo "$pid"
}

stop() {
  local pid
  if pid=$(running_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$base/tomcat.pid"
}

crash() {
  local pid
  if pid=$(running_pid); then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$base/tomcat.pid"
}

xml() {
  local v=$1
  v=${v//&/&amp;}; v=${v//\"/&quot;}; v=${v//</&lt;}; v=${v//>/&gt;}
  printf '%s' "$v"
}

# Connector attributes in order; a later `set_attr` of a name replaces its value in place.
set_attr() { # ARRAY_OF_NAMES MAP_OF_VALUES NAME=VALUE
  local -n names=$1 values=$2
  local k=${3%%=*} v=${3#*=}
  [[ -v "values[$k]" ]] || names+=("$k")
  values[$k]=$v
}
attrs() { # ARRAY_OF_NAMES MAP_OF_VALUES
  local -n names=$1 values=$2
  local k
  for k in "${names[@]}"; do printf ' %s="%s"' "$k" "$(xml "${values[$k]}")"; done
}

# Debian keeps the pristine defaults world-readable in $home/etc (/etc/tomcat10 is not).
debian_conf() {
  local f
  for f in "$home/etc/$1" "/etc/tomcat10/$1" "$home/conf/$1"; do
    [ -r "$f" ] && { echo "$f"; return; }
  done
  echo "no readable Tomcat default $1 in $home/etc or /etc/tomcat10: apt-get install tomcat10" >&2
  exit 1
}

# GET /static.txt answers 200.
http_ready() {
  local line
  line=$( (exec 3<>"/dev/tcp/$addr/$http_port" &&
           printf 'GET /static.txt HTTP/1.0\r\nHost: %s\r\n\r\n' "$addr" >&3 &&
           timeout 2 head -n1 <&3) 2>/dev/null) || return 1
  [[ $line == HTTP/1.?" 200 "* ]]
}

# An AJP13 CPing (12 34 00 01 0a) is answered with a CPong (41 42 00 01 09).
ajp_ready() {
  local reply
  reply=$( (exec 3<>"/dev/tcp/$addr/$ajp_port" && printf '\x12\x34\x00\x01\x0a' >&3 &&
            timeout 2 head -c5 <&3 | od -An -tx1) 2>/dev/null) || return 1
  [ "$(echo $reply)" = "41 42 00 01 09" ]
}

start() {
  addr=127.0.0.1 ajp_port=8009 http_port=8080 route="" node="" secret="" shutdown_port=-1
  sessions=none jit=c1 heap=256m heap_min=64m contexts=app log_level=INFO access_log=on
  timeout=${TOMCAT_START_TIMEOUT:-60}
  local -a ajp_names=() http_names=() ajp_extra=() http_extra=()
  local -A ajp_values=() http_values=()
  local args=("$@")
  while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case $1 in
      --address) addr=$2 ;;
      --ajp-port) ajp_port=$2 ;;
      --http-port) http_port=$2 ;;
      --route) route=$2 ;;
      --node) node=$2 ;;
      --secret) secret=$2 ;;
      --ajp-attr) ajp_extra+=("$2") ;;
      --http-attr) http_extra+=("$2") ;;
      --shutdown-port) shutdown_port=$2 ;;
      --sessions) sessions=$2 ;;
      --jit) jit=$2 ;;
      --heap) heap=$2 ;;
      --heap-min) heap_min=$2 ;;
      --contexts) contexts=$2 ;;
      --log-level) log_level=$2 ;;
      --access-log) access_log=$2 ;;
      --timeout) timeout=$2 ;;
      *) usage ;;
    esac
    shift 2
  done
  [ -n "$node" ] || node=${route:-$addr:$ajp_port}
  local jit_opt manager
  case $jit in
    c1) jit_opt=-XX:TieredStopAtLevel=1 ;;
    full) jit_opt="" ;;
    *) usage ;;
  esac
  case $sessions in
    none) manager='<Manager pathname="" />' ;;
    file) manager='<Manager pathname="SESSIONS.ser" />' ;;
    store:?*)
      mkdir -p "${sessions#store:}"
      manager="<Manager className=\"org.apache.catalina.session.PersistentManager\" saveOnRestart=\"true\">
    <Store className=\"org.apache.catalina.session.FileStore\" directory=\"$(xml "$(realpath -m -- "${sessions#store:}")")\" />
  </Manager>" ;;
    *) usage ;;
  esac
  if [ ! -x "$home/bin/catalina.sh" ] || [ ! -f "$home/lib/catalina.jar" ]; then
    echo "Tomcat 10 not found in $home (CATALINA_HOME; override with TOMCAT_HOME): run" \
         "\`apt-get install tomcat10\` (make test installs it); Java 17 is needed too" >&2
    exit 1
  fi
  local p
  for p in "$ajp_port" "$http_port"; do
    if (exec 3<>"/dev/tcp/$addr/$p") 2>/dev/null; then
      echo "$addr:$p is not free: another test using it, or a Tomcat left behind by a killed" \
           "run? (pgrep -af catalina.base=)" >&2
      exit 1
    fi
  done

  mkdir -p "$base"/{conf,logs,temp,work,webapps,lib}
  printf '%s\0' "${args[@]}" > "$base/tomcat.args"
  cp "$(debian_conf web.xml)" "$base/conf/web.xml"
  # Scan no jar for TLDs and fragments (faster startup; the test application has no tag
  # libraries). Later keys win in .properties.
  { cat "$(debian_conf catalina.properties)"
    echo "tomcat.util.scan.StandardJarScanFilter.jarsToSkip=*.jar"; } > "$base/conf/catalina.properties"
  # Synchronous logs without date suffixes, complete when read after a failure: the server log
  # on the console (logs/catalina.out, with the JVM's own output), the webapp's in
  # logs/localhost.log.
  cat > "$base/conf/logging.properties" <<PROPS
handlers = 2localhost.org.apache.juli.FileHandler, java.util.logging.ConsoleHandler
.handlers = java.util.logging.ConsoleHandler
.level = $log_level
2localhost.org.apache.juli.FileHandler.level = FINE
2localhost.org.apache.juli.FileHandler.directory = \${catalina.base}/logs
2localhost.org.apache.juli.FileHandler.prefix = localhost
2localhost.org.apache.juli.FileHandler.suffix = .log
2localhost.org.apache.juli.FileHandler.rotatable = false
2localhost.org.apache.juli.FileHandler.formatter = org.apache.juli.OneLineFormatter
java.util.logging.ConsoleHandler.level = FINE
java.util.logging.ConsoleHandler.formatter = org.apache.juli.OneLineFormatter
org.apache.catalina.startup.Catalina.level = INFO
org.apache.catalina.core.ContainerBase.[Catalina].[localhost].level = INFO
org.apache.catalina.core.ContainerBase.[Catalina].[localhost].handlers = 2localhost.org.apache.juli.FileHandler
PROPS

  local kv
  set_attr http_names http_values protocol=HTTP/1.1
  set_attr http_names http_values "address=$addr"
  set_attr http_names http_values "port=$http_port"
  set_attr http_names http_values connectionTimeout=20000
  for kv in "${http_extra[@]}"; do set_attr http_names http_values "$kv"; done
  set_attr ajp_names ajp_values protocol=AJP/1.3
  set_attr ajp_names ajp_values "address=$addr"
  set_attr ajp_names ajp_values "port=$ajp_port"
  if [ -n "$secret" ]; then
    set_attr ajp_names ajp_values secretRequired=true
    set_attr ajp_names ajp_values "secret=$secret"
  else
    set_attr ajp_names ajp_values secretRequired=false
  fi
  # Every request attribute mod_jk sends (JK_LB_ACTIVATION, JkEnvVar ones) reaches the
  # application; Tomcat would answer 403 to an unknown one otherwise.
  set_attr ajp_names ajp_values "allowedRequestAttributesPattern=.*"
  for kv in "${ajp_extra[@]}"; do set_attr ajp_names ajp_values "$kv"; done
  local server_addr="" jvm_route="" valve=""
  [ "$shutdown_port" -le 0 ] || server_addr=" address=\"$(xml "$addr")\""
  [ -z "$route" ] || jvm_route=" jvmRoute=\"$(xml "$route")\""
  # The thread name (%I) tells the connector: ajp-nio-ADDR-PORT-exec-N or http-nio-....
  [ "$access_log" = off ] || valve='
        <Valve className="org.apache.catalina.valves.AccessLogValve" directory="logs"
               prefix="access" suffix=".log" rotatable="false" buffered="false"
               pattern="%a %{local}p %u &quot;%r&quot; %s %b %D %{JSESSIONID}c %I" />
      '
  cat > "$base/conf/server.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<!-- written by scripts/tomcat.sh -->
<Server port="$shutdown_port"$server_addr shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector$(attrs http_names http_values) />
    <Connector$(attrs ajp_names ajp_values) />
    <Engine name="Catalina" defaultHost="localhost"$jvm_route>
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false">$valve</Host>
    </Engine>
  </Service>
</Server>
XML
  cat > "$base/conf/context.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Context>
  <WatchedResource>WEB-INF/web.xml</WatchedResource>
  <WatchedResource>\${catalina.base}/conf/web.xml</WatchedResource>
  <JarScanner scanClassPath="false" scanManifest="false" />
  $manager
</Context>
XML
  local ctx
  for ctx in ROOT ${contexts//,/ }; do
    [ -d "$base/webapps/$ctx" ] || cp -r "$top/tests/fixtures/tomcat/ROOT" "$base/webapps/$ctx"
  done

  local java_opts="-Djava.awt.headless=true -Xms$heap_min -Xmx$heap -Xss512k -XX:+UseSerialGC"
  java_opts+=" $jit_opt -XX:-UsePerfData -Djava.security.egd=file:/dev/./urandom"
  java_opts+=" -Dtest.node=$node ${TOMCAT_JAVA_OPTS:-}"
  cd "$base"
  env -u CATALINA_OPTS -u CATALINA_PID -u CATALINA_OUT -u JPDA_OPTS -u LOGGING_CONFIG \
    CATALINA_HOME="$home" CATALINA_BASE="$base" CATALINA_TMPDIR="$base/temp" \
    JAVA_OPTS="$java_opts" \
    setsid "$home/bin/catalina.sh" run >> "$base/logs/catalina.out" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" > "$base/tomcat.pid"

  local deadline=$((SECONDS + timeout)) http_ok=no ajp_ok=no
  while :; do
    if ! alive "$pid"; then
      rm -f "$base/tomcat.pid"
      echo "Tomcat ($addr:$ajp_port) exited during startup; see $base/logs/catalina.out" >&2
      exit 1
    fi
    [ $http_ok = yes ] || { http_ready && http_ok=yes; } || true
    [ $ajp_ok = yes ] || { ajp_ready && ajp_ok=yes; } || true
    if [ $http_ok$ajp_ok = yesyes ]; then
      echo "$pid"
      exit 0
    fi
    if [ $SECONDS -ge $deadline ]; then
      stop
      echo "Tomcat did not come up within ${timeout}s (http $addr:$http_port ok=$http_ok," \
           "ajp $addr:$ajp_port cpong=$ajp_ok); see $base/logs" >&2
      exit 1
    fi
    sleep 0.1
  done
}

case $cmd in
start) start "$@" ;;
stop) stop ;;
kill) crash ;;
restart)
  [ -f "$base/tomcat.args" ] || { echo "no $base/tomcat.args: start it first" >&2; exit 1; }
  mapfile -d '' saved < "$base/tomcat.args"
  stop
  start "${saved[@]}"
  ;;
pid) running_pid ;;
*) usage ;;
esac
