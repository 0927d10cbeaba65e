# mod_jk-rs: build, test, install and demo.
#   make            build the module (release)
#   make test       format/lint checks, unit tests, and integration tests against real apache2
#   make demo       start a private httpd with the seed configuration (Ctrl-C stops it)
#   make install    install mod_jk.so where `apxs -q LIBEXECDIR` says (DESTDIR, LIBEXECDIR override)
#   make fuzz       every fuzz target in turn, FUZZ_SECONDS (60) each (nightly + cargo-fuzz)
#   make deb        the Debian package libapache2-mod-jk-rs_*.deb in target/deb/ (replaces
#                   libapache2-mod-jk; dpkg-buildpackage + debhelper/dh_apache2, then lintian)
#   make deb-test   installs that package over libapache2-mod-jk in a private mount namespace
#                   (overlays on /etc, /usr, /var, /run; root), runs apache2, removes it
#   make test-httpd-image  the official httpd:2.4 image's httpd built from Debian's apache2
#                   source (cached in target/httpd-image), our package, the seed's files
#   make test-image the image tier: the httpd:2.4 image rebuilt on debootstrap'd bookworm and
#                   trixie, deploy/compose/compose.yaml run by podman-compose, 20 testers
#                   while each Tomcat restarts
#   make test-swarm deploy/swarm/stack.yaml in a single-node docker swarm: 20 testers through
#                   a start-first rolling update and a scale 2 -> 3 -> 2 of the Tomcat service
#   make soak       chaos soak: 20 testers, two Tomcats, restarts/kills/gracefuls, SOAK_SECONDS (600)
#   make bench-bundle  the many-core comparison as a directory to copy to another machine
# test, demo, bench and bench-smoke first install the Debian packages they need (scripts/deps.sh:
# apt-get as root, otherwise it prints the command to run); `make deps` does it for CI.

CARGO    ?= cargo
APXS     ?= $(shell command -v apxs || command -v apxs2)
LIBEXECDIR ?= $(shell $(APXS) -q LIBEXECDIR 2>/dev/null)
DESTDIR  ?=
MODULE   ?= mod_jk.so

.PHONY: all build release test unit integration lint fmt-check install demo clean bench bench-smoke \
	deps deps-test deps-demo fuzz fuzz-ci soak soak-ci bench-bundle bench-bundle-check deb deb-test \
	test-httpd-image test-image test-swarm

# What each target needs on Debian 12 besides the Rust toolchain. The tests: the original mod_jk
# is the oracle of the differential tests, Tomcat 10 the backend of the end-to-end tests,
# Chromium drives the status page, curl, openssl and h2load the TLS and HTTP/2 tests, ZooKeeper
# (libzookeeper-java on a headless JRE) is the registry of the ZooKeeper tests, prometheus
# (with promtool) checks the metrics, scrapes them and tests the alert rules.
TEST_DEPS        := apache2 apache2-dev libclang-dev libapache2-mod-jk tomcat10 chromium prometheus \
                    libzookeeper-java default-jre-headless \
                    curl openssl nghttp2-client
TEST_RUST        := --rust rustfmt --rust clippy
DEMO_DEPS        := apache2 apache2-dev libclang-dev tomcat10
BENCH_SMOKE_DEPS := python3 wrk apache2 apache2-dev libclang-dev
BENCH_DEPS       := $(BENCH_SMOKE_DEPS) libapache2-mod-jk tomcat10 valgrind linux-perf
BUNDLE_DEPS      := $(BENCH_SMOKE_DEPS) libapache2-mod-jk media-types busybox-static linux-perf
# The package: Debian's packaging tools (dh_apache2 comes with apache2-dev) and lintian; its
# test: the package it replaces, apache2 and curl.
DEB_DEPS         := debhelper dpkg-dev apache2-dev libclang-dev lintian
DEB_TEST_DEPS    := $(DEB_DEPS) apache2 libapache2-mod-jk curl
# The image tier: podman (with runc, see deploy/image/containers.conf) and the CNI plugin that
# gives its networks name resolution (without it, on a fresh Debian 12 with podman's CNI backend,
# the gateway cannot resolve tomcat1 and tomcat2), debootstrap, curl.
IMAGE_DEPS       := $(DEB_DEPS) podman runc golang-github-containernetworking-plugin-dnsname \
                    debootstrap curl python3 python3-pip
SWARM_DEPS       := $(IMAGE_DEPS) docker.io
# podman-compose from PyPI, pinned (Debian 12 packages the older 1.0.3)
PODMAN_COMPOSE   := 1.6.0
# The httpd:2.4 image's build dependencies (its Dockerfile's list).
HTTPD_IMAGE_DEPS := $(DEB_TEST_DEPS) dpkg-dev gcc make libapr1-dev libaprutil1-dev libbrotli-dev \
                    libcurl4-openssl-dev libjansson-dev liblua5.2-dev libnghttp2-dev libpcre2-dev \
                    libssl-dev libxml2-dev zlib1g-dev

all: release

# The files the module uses when httpd.conf has no JkLogFile / JkShmFile (only jk.load, no
# jk.conf): Debian's build's (its patch 0002), for every build this Makefile makes for use
# (make, install, deb, bench). A plain `cargo build` (the tests) keeps upstream's.
JK_DEFAULTS := MOD_JK_DEFAULT_LOG_FILE=/var/log/apache2/mod_jk.log \
               MOD_JK_DEFAULT_SHM_FILE=/var/log/apache2/jk-runtime-status

build:
	$(CARGO) build --workspace --bins --lib

release:
	$(JK_DEFAULTS) $(CARGO) build --release --workspace --bins --lib

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace --exclude mod_jk

# Integration tests start apache2 with target/debug/libmod_jk.so.
integration: build
	$(CARGO) test -p mod_jk -- --test-threads=2

# The checks run after the dependency step (in a second make, so that -j cannot start them first).
test: deps-test
	@$(MAKE) --no-print-directory fmt-check lint unit integration

install: release
	@test -n "$(LIBEXECDIR)" || { echo "no LIBEXECDIR: install apache2-dev or pass LIBEXECDIR=..."; exit 1; }
	install -d $(DESTDIR)$(LIBEXECDIR)
	install -m 0644 target/release/libmod_jk.so $(DESTDIR)$(LIBEXECDIR)/$(MODULE)
	@echo "installed $(DESTDIR)$(LIBEXECDIR)/$(MODULE)"

demo: deps-demo
	@$(MAKE) --no-print-directory release
	./scripts/demo.sh

# Benchmark: ours vs Debian's mod_jk vs mod_proxy_ajp, and the ceiling (the same httpd serving the
# same bytes from static files itself) (bench/bench.py; report in target/bench/).
# BENCH_ARGS: e.g. --update-readme, --matrix full, --repeats 5 (default: the two profiles).
BENCH_ARGS ?= --perf --callgrind
bench:
	./scripts/deps.sh $(BENCH_DEPS)
	$(JK_DEFAULTS) $(CARGO) build --release
	$(JK_DEFAULTS) $(CARGO) build --release -p jk-ajp-testserver --bins
	python3 bench/bench.py $(BENCH_ARGS)

# The many-core comparison as a self-contained directory + .tar.gz (target/bench-bundle/): copy it
# to any x86-64 Linux and run mod_jk-rs-bench/run.sh there (nothing to install; at most 7 min;
# it carries Debian's perf and profiles ours and mod_jk after the table where the kernel lets it).
bench-bundle:
	./scripts/deps.sh $(BUNDLE_DEPS)
	$(CARGO) build --release
	$(CARGO) build --release -p jk-ajp-testserver --bins
	./scripts/bench-bundle.sh

# CI: the bundle, run in a throw-away root that holds nothing but it and a static busybox (a
# 2-second comparison at c=64; fails unless all four connectors served without an error).
bench-bundle-check: bench-bundle
	./scripts/bench-bundle-check.sh

# CI: one scenario, 5 s of our module and 2 s of the ceiling (target/bench-smoke/).
bench-smoke:
	./scripts/deps.sh $(BENCH_SMOKE_DEPS)
	$(JK_DEFAULTS) $(CARGO) build --release
	$(JK_DEFAULTS) $(CARGO) build --release -p jk-ajp-testserver --bins
	python3 bench/bench.py --smoke

deps-test:
	./scripts/deps.sh $(TEST_RUST) $(TEST_DEPS)
deps-demo:
	./scripts/deps.sh $(DEMO_DEPS)
# CI: what make test and make bench-smoke need, in one apt-get run.
deps:
	./scripts/deps.sh $(TEST_RUST) $(sort $(TEST_DEPS) $(BENCH_SMOKE_DEPS) $(BUNDLE_DEPS))

# Fuzzing: one cargo-fuzz target per parser entry point (fuzz/, its own workspace), each run for
# FUZZ_SECONDS on top of the committed seeds; installs nightly and cargo-fuzz when missing. A
# crash fails the run and prints the reproducer (scripts/fuzz.sh). FUZZ_TARGETS picks a subset.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

# CI: 30 s per target.
fuzz-ci:
	FUZZ_SECONDS=30 ./scripts/fuzz.sh

# Chaos soak (tests/soak.rs, #[ignore]d by make test): 20 testers against two real Tomcats while a
# seeded random schedule restarts, kills (-9) and drains Tomcats, gracefuls httpd, sends slow
# requests and aborts clients; prints failures and re-logins by cause, httpd's RSS and fds, and the
# shared-memory counters. SOAK_SEED replays a schedule (default: from the clock, printed).
SOAK_SECONDS ?= 600
SOAK_SEED    ?=
soak: deps-test
	@$(MAKE) --no-print-directory build
	SOAK_SECONDS=$(SOAK_SECONDS) $(if $(SOAK_SEED),SOAK_SEED=$(SOAK_SEED)) \
	  $(CARGO) test -p mod_jk --test soak -- --ignored --nocapture

# CI (.ci/run, after make test): 3 minutes.
soak-ci:
	@$(MAKE) --no-print-directory soak SOAK_SECONDS=180

clean:
	$(CARGO) clean

# The Debian package (README "Debian package"): target/deb/libapache2-mod-jk-rs_*.deb.
deb:
	./scripts/deps.sh $(DEB_DEPS)
	./scripts/deb.sh

# Installs the package over libapache2-mod-jk, runs Debian's apache2 with it, removes it; all
# inside a private mount namespace whose overlays vanish with it (the host is not changed).
deb-test:
	./scripts/deps.sh $(DEB_TEST_DEPS)
	./scripts/deb.sh
	$(CARGO) build -p jk-ajp-testserver --bins
	./scripts/deb-test.sh

# The host tier of the httpd:2.4 image (README "Deploy"): its httpd from Debian's apache2
# source with the image's configure flags (built once into target/httpd-image, kept), our
# package installed as the seed's lb.dockerfile does, the seed's files, every MPM.
test-httpd-image:
	./scripts/deps.sh $(HTTPD_IMAGE_DEPS)
	./scripts/deb.sh
	./scripts/httpd-image.sh
	$(CARGO) build -p jk-ajp-testserver --bins
	./scripts/httpd-image-test.sh

# The image tier (README "Deploy"): base images from debootstrap (bookworm, trixie), the
# httpd:2.4 image rebuilt on each, deploy/compose's gateway (our package) and Tomcat, run in
# podman; a request through the gateway container reaches a Tomcat container. Images are kept
# in podman's store and target/image: a second run rebuilds only what changed.
test-image:
	./scripts/deps.sh $(IMAGE_DEPS)
	python3 -m podman_compose version 2>/dev/null | grep -q 'podman-compose version $(PODMAN_COMPOSE)' \
	  || python3 -m pip install --quiet --break-system-packages 'podman-compose==$(PODMAN_COMPOSE)'
	./scripts/deb.sh
	./scripts/image-test.sh

# The swarm tier (README "Deploy"): deploy/swarm/stack.yaml in a single-node swarm of Debian's
# docker.io (dockerd started and swarm initialised when there are none, both undone after);
# the base images of test-image (built when missing), 20 testers through
# `docker service update --force` and `docker service scale` 2 -> 3 -> 2.
test-swarm:
	./scripts/deps.sh $(SWARM_DEPS)
	./scripts/deb.sh
	./scripts/swarm-test.sh
