# auroraview — the two commands a new machine needs are `make demo` and `make test`.
# `make help` lists the others.
.PHONY: help setup build demo test test-rust test-python test-e2e test-sdk lint generate wheel bench bless mutants mutants-full

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## install everything a fresh machine needs and build the extension
	bash scripts/setup.sh

build: setup ## build the extension in place (same as setup: incremental)

demo: setup ## open the outliner example (under Xvfb with a screenshot when there is no display)
	.venv/bin/python examples/outliner/demo.py

test: ## set up, then run every test (what CI runs)
	bash scripts/test.sh

test-rust: setup ## Rust unit and integration tests
	cargo nextest run --release --workspace --no-fail-fast

test-python: setup ## Python tests through the test client (no window)
	.venv/bin/python -m pytest tests/python

test-e2e: setup ## end-to-end tests in real WebKitGTK windows under Xvfb
	.venv/bin/python -m pytest tests/e2e

test-sdk: setup ## the TypeScript SDK's tests and the bridge's freshness
	cd sdk-ts && npm run --silent check:bridge && npm test --silent

lint: setup ## rustfmt, clippy, stubtest, pyright (strict), ruff
	cargo fmt --all --check
	cargo clippy --release --workspace --all-targets --quiet -- -D warnings
	bash scripts/lint.sh

generate: setup ## regenerate the bridge and the examples' bindings (then review the diff)
	cd sdk-ts && npm run --silent build:bridge
	cd tests/codegen && ../../.venv/bin/auroraview codegen corpus:commands --out corpus.gen.ts
	cd examples/outliner && ../../.venv/bin/auroraview codegen app:commands --out ui/src/outliner.gen.ts

wheel: setup ## build the wheel and the sdist into dist/ (stripped; links the system WebKitGTK 4.1, and works without it for all but windows)
	bash scripts/build_wheel.sh dist

bench: setup ## the benchmark tables (real window vs raw wry, the core alone, the network vs an echo floor and ipc-framework, topics vs the brokers alone)
	AURORAVIEW_SETUP_BROKERS=1 bash scripts/setup.sh
	.venv/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	.venv/bin/python bench/run.py

mutants: setup ## mutation testing of the lines of the wire core changed since .ci/mutants-base (what CI runs)
	. .venv/bin/activate && bash scripts/mutants.sh

mutants-full: setup ## every mutant of the wire core's files against the Rust tests (about 1.5–2 hours on 2 cores)
	. .venv/bin/activate && bash scripts/mutants.sh --full

# Regenerate the checked-in generated files after an intended change, then review the diff.
bless: setup ## regenerate golden files (protocol schema and TS types, error goldens, secure defaults)
	AURORAVIEW_BLESS=1 cargo test --release --test protocol
	AURORAVIEW_BLESS=1 .venv/bin/python -m pytest tests/python/test_errors.py
	AURORAVIEW_BLESS=1 .venv/bin/python -m pytest tests/e2e/test_secure_defaults.py
