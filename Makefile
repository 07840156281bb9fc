# smile — top-level commands. `make demo` and `make test` are the two commands
# of the README; `.ci/run` installs what is missing and calls `make test`.

CARGO ?= cargo
EMBEDDED_TARGET ?= thumbv7em-none-eabihf

# Cargo's output directory (honoured if set, e.g. CARGO_TARGET_DIR=/tmp/t make test).
CARGO_TARGET_DIR ?= $(CURDIR)/target
override CARGO_TARGET_DIR := $(abspath $(CARGO_TARGET_DIR))
export CARGO_TARGET_DIR

# C library: `make install PREFIX=...` installs include/smile.h, libsmile.a,
# libsmile.so and lib/pkgconfig/smile.pc. The demo and the FFI tests use a
# private installation in $(STAGE), through pkg-config, like any user would.
PREFIX ?= /usr/local
STAGE := $(CARGO_TARGET_DIR)/stage
VERSION := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
# System libraries the static library needs (rustc --print native-static-libs).
LIBS_PRIVATE ?= -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
CBINDGEN ?= cbindgen

.PHONY: demo demo-c deps test test-rust test-embedded test-ffi lint lib install header portable

## The main demo: Bayesian logistic regression on bundled real data (Rust, then the same from C).
demo:
	$(CARGO) run --release --example demo
	$(MAKE) demo-c

## The C demo alone, built against a private installation through pkg-config.
demo-c:
	$(MAKE) install PREFIX=$(STAGE)
	$(MAKE) -C examples-c demo PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig

## Installs missing tools (embedded target, C/Go/Python test tool chain); idempotent.
deps:
	bash scripts/install-deps.sh

## Every test: Rust (formatting, unit, golden, statistical), the embedded build, the C ABI.
test: deps
	$(MAKE) test-rust test-embedded test-ffi

test-rust:
	$(CARGO) fmt --check
	$(CARGO) test --release
	$(CARGO) bench --no-run
	RUSTDOCFLAGS="-D rustdoc::broken_intra_doc_links -D rustdoc::private_intra_doc_links" $(CARGO) doc --no-deps

## Formatting, clippy on every target and the docs, all warnings as errors (not part of `make test`:
## each new clippy release brings new lints, and CI installs the newest; `make test` checks only
## the docs' links).
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

test-embedded:
	$(CARGO) build --release --target $(EMBEDDED_TARGET)

## C ABI: header freshness, C (gcc, clang, sanitizers, valgrind), C++, threads, Go, Python, C examples.
test-ffi:
	$(MAKE) install PREFIX=$(STAGE)
	$(MAKE) -C ffi-tests STAGE=$(STAGE)

## Portable x86-64 build (baseline SSE2, no target-cpu=native; .cargo/config.toml
## sets native for the default build): libraries in $(CARGO_TARGET_DIR)/portable/release.
portable:
	CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="" $(CARGO) build --release --lib --target-dir $(CARGO_TARGET_DIR)/portable

## libsmile.a and libsmile.so in $(CARGO_TARGET_DIR)/release.
lib:
	$(CARGO) build --release --lib

install: lib
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/smile.h $(DESTDIR)$(PREFIX)/include/smile.h
	install -m 644 $(CARGO_TARGET_DIR)/release/libsmile.a $(DESTDIR)$(PREFIX)/lib/libsmile.a
	install -m 755 $(CARGO_TARGET_DIR)/release/libsmile.so $(DESTDIR)$(PREFIX)/lib/libsmile.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|' \
		smile.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/smile.pc

## Regenerates include/smile.h with the pinned cbindgen (reads the macro-expanded crate).
header:
	@test "$$($(CBINDGEN) --version 2>/dev/null)" = "cbindgen 0.29.4" || \
		{ echo "make header: needs cbindgen 0.29.4 (bash ffi-tests/install-deps.sh)" >&2; exit 1; }
	RUSTC_BOOTSTRAP=1 CARGO_EXPAND_TARGET_DIR=$(CARGO_TARGET_DIR)/cbindgen-expand \
		$(CBINDGEN) --quiet --config cbindgen.toml --crate smile --output include/smile.h
