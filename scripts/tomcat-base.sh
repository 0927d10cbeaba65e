#!/usr/bin/env bash
# Creates a private Tomcat 10 instance (CATALINA_BASE) with an AJP connector and the test web
# application, and starts it in the background.
#   scripts/tomcat-base.sh start BASE_DIR ADDRESS JVM_ROUTE   -> prints the pid
#   scripts/tomcat-base.sh stop BASE_DIR
#   scripts/tomcat-base.sh restart BASE_DIR   (stop, then start with the same address/route)
# AJP listens on ADDRESS:8009 (secretRequired="false": loopback only), HTTP on ADDRESS:8080.
# Sessions persist across restarts (<Manager pathname="SESSIONS.ser"/>).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
home=${TOMCAT_HOME:-/usr/share/tomcat10}
cmd=$1 base=$2
case "$cmd" in
restart)
  [ -f "$base/tomcat.args" ] || { echo "no $base/tomcat.args: start it first" >&2; exit 1; }
  read -r addr route < "$base/tomcat.args"
  "$0" stop "$base"
  exec "$0" start "$base" "$addr" "$route"
  ;;
start)
  addr=$3 route=$4
  [ -x "$home/bin/catalina.sh" ] || { echo "Tomcat 10 not found in $home: apt-get install tomcat10" >&2; exit 1; }
  mkdir -p "$base"/{conf,logs,temp,work,webapps}
  echo "$addr $route" > "$base/tomcat.args"
  rm -f "$base/tomcat.args.new"
  cp "$home/etc/web.xml" "$base/conf/web.xml"
  { cat "$home/etc/catalina.properties"; echo "tomcat.util.scan.StandardJarScanFilter.jarsToSkip=*.jar"; } > "$base/conf/catalina.properties"
  cat > "$base/conf/server.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector protocol="HTTP/1.1" address="$addr" port="8080" connectionTimeout="20000" />
    <Connector protocol="AJP/1.3" address="$addr" port="8009" secretRequired="false" />
    <Engine name="Catalina" defaultHost="localhost" jvmRoute="$route">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false" />
    </Engine>
  </Service>
</Server>
XML
  cat > "$base/conf/context.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Context>
  <JarScanner scanClassPath="false" scanManifest="false" />
  <Manager pathname="SESSIONS.ser" />
</Context>
XML
  if [ ! -d "$base/webapps/app" ]; then
    cp -r "$top/tests/fixtures/tomcat/ROOT" "$base/webapps/ROOT"
    cp -r "$top/tests/fixtures/tomcat/ROOT" "$base/webapps/app"
  fi
  CATALINA_HOME=$home CATALINA_BASE=$base CATALINA_TMPDIR=$base/temp \
  JAVA_OPTS="-Djava.awt.headless=true -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dtest.node=$route" \
    setsid "$home/bin/catalina.sh" run > "$base/logs/catalina.out" 2>&1 < /dev/null &
  echo $! > "$base/tomcat.pid"
  for _ in $(seq 1 120); do
    if (exec 3<>/dev/tcp/$addr/8009) 2>/dev/null && (exec 3<>/dev/tcp/$addr/8080) 2>/dev/null; then
      echo "$(cat "$base/tomcat.pid")"; exit 0
    fi
    sleep 0.5
  done
  echo "Tomcat in $base did not open $addr:8009; see $base/logs/catalina.out" >&2
  exit 1
  ;;
stop)
  if [ -f "$base/tomcat.pid" ]; then
    pid=$(cat "$base/tomcat.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$base/tomcat.pid"
  fi
  ;;
*) echo "usage: $0 start BASE ADDRESS ROUTE | stop BASE" >&2; exit 2 ;;
esac
