#!/bin/sh
# The mariadb:11 stand-in's entrypoint (deploy/image/mariadb.Dockerfile): on the first start
# (an empty /var/lib/mysql) create the system tables, then the database, the user and the root
# password the MARIADB_* variables name, through an init file the server runs once; then the
# server in the foreground, listening on every address.
set -eu
if [ "${1:-}" = mariadbd ]; then
  shift
  init=
  if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db > /dev/null
    init=/run/mysqld/init.sql
    q() { printf "%s" "$1" | sed "s/'/''/g"; }
    {
      echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$(q "${MARIADB_ROOT_PASSWORD:-}")';"
      if [ -n "${MARIADB_DATABASE:-}" ]; then
        echo "CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE}\`;"
      fi
      if [ -n "${MARIADB_USER:-}" ]; then
        echo "CREATE USER '$(q "$MARIADB_USER")'@'%' IDENTIFIED BY '$(q "${MARIADB_PASSWORD:-}")';"
        [ -z "${MARIADB_DATABASE:-}" ] \
          || echo "GRANT ALL ON \`${MARIADB_DATABASE}\`.* TO '$(q "$MARIADB_USER")'@'%';"
      fi
    } > "$init"
    chown mysql "$init"
    chmod 600 "$init"
  fi
  exec mariadbd --user=mysql --datadir=/var/lib/mysql --bind-address=0.0.0.0 \
    --skip-name-resolve ${init:+--init-file=$init} "$@"
fi
exec "$@"
