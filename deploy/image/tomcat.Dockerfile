# A stand-in for the official tomcat:10.1 image where no registry is reachable: Debian's
# tomcat10 laid out as that image is (CATALINA_HOME=/usr/local/tomcat with bin/, lib/, conf/,
# webapps/; catalina.sh on PATH), so deploy/compose/tomcat/Dockerfile builds on it unchanged.
ARG BASE=local/bookworm
FROM ${BASE}
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends tomcat10; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /usr/local/tomcat; \
    cp -aL /usr/share/tomcat10/bin /usr/share/tomcat10/lib /usr/local/tomcat/; \
    # Debian's jasper finds its JSP compiler through its manifest's Class-Path, relative to
    # /usr/share/java: next to the copied jars it must be there too.
    cp -L /usr/share/java/eclipse-jdt-core.jar /usr/local/tomcat/lib/; \
    cp -aL /etc/tomcat10 /usr/local/tomcat/conf; \
    mkdir -p /usr/local/tomcat/webapps /usr/local/tomcat/logs /usr/local/tomcat/temp \
      /usr/local/tomcat/work
ENV CATALINA_HOME=/usr/local/tomcat
ENV PATH=$CATALINA_HOME/bin:$PATH
WORKDIR /usr/local/tomcat
EXPOSE 8080
CMD ["catalina.sh", "run"]
