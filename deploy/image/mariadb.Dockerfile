# A stand-in for the official mariadb:11 image where no registry is reachable (the image tier's
# tests): Debian's mariadb-server with an entrypoint that honours the same variables the
# official image's does for a first start (MARIADB_ROOT_PASSWORD, MARIADB_DATABASE,
# MARIADB_USER, MARIADB_PASSWORD), the data in /var/lib/mysql, the server in the foreground
# as PID 1 (SIGTERM stops it cleanly), port 3306.
ARG BASE=local/bookworm
FROM ${BASE}
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends mariadb-server; \
    rm -rf /var/lib/apt/lists/* /var/lib/mysql; \
    mkdir -p /var/lib/mysql /run/mysqld; \
    chown mysql:mysql /var/lib/mysql /run/mysqld
COPY mariadb-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/mysql
EXPOSE 3306
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["mariadbd"]
