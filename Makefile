# auroraview — the two commands a new machine needs are `make demo` and `make test`.
.PHONY: setup demo test bench bless

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/python examples/outliner/demo.py

test:
	bash scripts/test.sh

bench: setup
	.venv/bin/python bench/run.py

# Regenerate the checked-in generated files after an intended change, then review the diff.
bless: setup
	AURORAVIEW_BLESS=1 cargo test --release --test protocol
	AURORAVIEW_BLESS=1 .venv/bin/python -m pytest tests/python/test_errors.py
	AURORAVIEW_BLESS=1 .venv/bin/python -m pytest tests/e2e/test_secure_defaults.py
