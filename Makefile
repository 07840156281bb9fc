# smile — top-level commands. `make demo` and `make test` are the two commands
# of the README; `.ci/run` installs what is missing and calls `make test`.

CARGO ?= cargo
EMBEDDED_TARGET ?= thumbv7em-none-eabihf

.PHONY: demo deps test test-rust test-embedded

## The main demo: Bayesian logistic regression on bundled real data.
demo:
	$(CARGO) run --release --example demo

## Installs missing tools (embedded target, C/Go/Python test tool chain); idempotent.
deps:
	bash scripts/install-deps.sh

## Every test: Rust (unit, golden, statistical), the embedded build.
test: deps
	$(MAKE) test-rust test-embedded

test-rust:
	$(CARGO) test --release

test-embedded:
	$(CARGO) build --release --target $(EMBEDDED_TARGET)
