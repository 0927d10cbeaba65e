# mod_jk-rs: build, test, install and demo.
#   make            build the module (release)
#   make test       format/lint checks, unit tests, and integration tests against real apache2
#   make demo       start a private httpd with the seed configuration (Ctrl-C stops it)
#   make install    install mod_jk.so where `apxs -q LIBEXECDIR` says (DESTDIR, LIBEXECDIR override)
#   make fuzz       every fuzz target in turn, FUZZ_SECONDS (60) each (nightly + cargo-fuzz)

CARGO    ?= cargo
APXS     ?= $(shell command -v apxs || command -v apxs2)
LIBEXECDIR ?= $(shell $(APXS) -q LIBEXECDIR 2>/dev/null)
DESTDIR  ?=
MODULE   ?= mod_jk.so

.PHONY: all build release test unit integration lint fmt-check install demo clean bench bench-smoke fuzz fuzz-ci

all: release

build:
	$(CARGO) build --workspace --bins --lib

release:
	$(CARGO) build --release --workspace --bins --lib

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace --exclude mod_jk

# Integration tests start apache2 with target/debug/libmod_jk.so.
integration: build
	$(CARGO) test -p mod_jk -- --test-threads=2

test: fmt-check lint unit integration

install: release
	@test -n "$(LIBEXECDIR)" || { echo "no LIBEXECDIR: install apache2-dev or pass LIBEXECDIR=..."; exit 1; }
	install -d $(DESTDIR)$(LIBEXECDIR)
	install -m 0644 target/release/libmod_jk.so $(DESTDIR)$(LIBEXECDIR)/$(MODULE)
	@echo "installed $(DESTDIR)$(LIBEXECDIR)/$(MODULE)"

demo: release
	./scripts/demo.sh

# Benchmark: ours vs Debian's mod_jk vs mod_proxy_ajp (bench/bench.py; report in target/bench/).
# BENCH_ARGS: e.g. --update-readme, --matrix full, --repeats 5 (default: the two profiles).
BENCH_ARGS ?= --perf --callgrind
bench:
	./bench/deps.sh wrk apache2 apache2-dev libclang-dev libapache2-mod-jk tomcat10 valgrind linux-perf
	$(CARGO) build --release
	$(CARGO) build --release -p jk-ajp-testserver --bins
	python3 bench/bench.py $(BENCH_ARGS)

# CI: 5 s of one scenario, our module only (target/bench-smoke/).
bench-smoke:
	./bench/deps.sh wrk apache2 apache2-dev libclang-dev
	$(CARGO) build --release
	$(CARGO) build --release -p jk-ajp-testserver --bins
	python3 bench/bench.py --smoke

# Fuzzing: one cargo-fuzz target per parser entry point (fuzz/, its own workspace), each run for
# FUZZ_SECONDS on top of the committed seeds; installs nightly and cargo-fuzz when missing. A
# crash fails the run and prints the reproducer (scripts/fuzz.sh). FUZZ_TARGETS picks a subset.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

# CI: 30 s per target.
fuzz-ci:
	FUZZ_SECONDS=30 ./scripts/fuzz.sh

clean:
	$(CARGO) clean
