# The official httpd:2.4 image, rebuilt here from the same facts (docker-library/httpd's
# Dockerfile): Debian slim base (trixie today, bookworm before), httpd built from its release
# tarball into /usr/local/apache2 with every module shared and every MPM loadable, Debian's
# hardening flags, logs to the container's stdout/stderr, User/Group www-data, then the build
# dependencies purged. The tarball is Debian's apache2 source package's (the upstream release,
# scripts/httpd-image.sh fetches it) instead of a download from apache.org.
#   podman build --build-arg BASE=local/bookworm -f deploy/image/httpd.Dockerfile target/image
ARG BASE=local/trixie
FROM ${BASE}
ENV HTTPD_PREFIX=/usr/local/apache2
ENV PATH=$HTTPD_PREFIX/bin:$PATH
WORKDIR $HTTPD_PREFIX
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates libaprutil1-ldap libldap-common; \
    rm -rf /var/lib/apt/lists/*
COPY httpd.tar.gz /tmp/httpd.tar.gz
RUN set -eux; \
    saved="$(apt-mark showmanual)"; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
      dpkg-dev gcc make libapr1-dev libaprutil1-dev libbrotli-dev libcurl4-openssl-dev \
      libjansson-dev liblua5.2-dev libnghttp2-dev libpcre2-dev libssl-dev libxml2-dev zlib1g-dev; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir /tmp/src; \
    tar -xzf /tmp/httpd.tar.gz -C /tmp/src --strip-components=1; \
    rm /tmp/httpd.tar.gz; \
    cd /tmp/src; \
    ./configure --build="$(dpkg-architecture --query DEB_BUILD_GNU_TYPE)" \
      --prefix="$HTTPD_PREFIX" --enable-mods-shared=reallyall --enable-mpms-shared=all \
      --enable-pie \
      CFLAGS="-pipe $(dpkg-buildflags --get CFLAGS)" \
      CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)" \
      LDFLAGS="-Wl,--as-needed $(dpkg-buildflags --get LDFLAGS)"; \
    make -j "$(nproc)"; \
    make install; \
    cd /; rm -rf /tmp/src "$HTTPD_PREFIX/man" "$HTTPD_PREFIX/manual"; \
    sed -ri \
      -e 's!^(\s*CustomLog)\s+\S+!\1 /proc/self/fd/1!g' \
      -e 's!^(\s*ErrorLog)\s+\S+!\1 /proc/self/fd/2!g' \
      -e 's!^(\s*TransferLog)\s+\S+!\1 /proc/self/fd/1!g' \
      -e 's!^(\s*User)\s+daemon\s*$!\1 www-data!g' \
      -e 's!^(\s*Group)\s+daemon\s*$!\1 www-data!g' \
      "$HTTPD_PREFIX/conf/httpd.conf" "$HTTPD_PREFIX/conf/extra/httpd-ssl.conf"; \
    grep -Eq '^\s*User www-data$' "$HTTPD_PREFIX/conf/httpd.conf"; \
    # Keep the libraries httpd links, purge the rest of the build dependencies.
    apt-mark auto '.*' > /dev/null; \
    [ -z "$saved" ] || apt-mark manual $saved; \
    find /usr/local -type f -executable -exec ldd '{}' ';' \
      | awk '/=>/ { print $(NF-1) }' | sort -u \
      | xargs -r dpkg-query --search | cut -d: -f1 | sort -u \
      | xargs -r apt-mark manual; \
    apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false; \
    httpd -v
COPY httpd-foreground /usr/local/bin/
STOPSIGNAL SIGWINCH
EXPOSE 80
CMD ["httpd-foreground"]
