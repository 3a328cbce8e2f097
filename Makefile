# Quick start: `make demo` and `make test` work from a fresh clone; each sets up .venv itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO := demo

.PHONY: demo test venv sample docs fuzz bench corpus clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gaopin 需要 Python 3.11 或更新版本")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

# The main job on the bundled sample: warnings and escalations, the ledger and the August report.
DEMO_RUN := $(BIN)/gaopin
DEMO_OPTS := --config sample_data/gaopin.toml
demo: $(STAMP)
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(DEMO_RUN) warn sample_data/tickets.xlsx $(DEMO_OPTS) --output $(DEMO)/warnings.xlsx
	$(DEMO_RUN) import sample_data/tickets.xlsx $(DEMO_OPTS) --db $(DEMO)/gaopin.db
	$(DEMO_RUN) ledger --month 8 --year 2024 $(DEMO_OPTS) --db $(DEMO)/gaopin.db --today 2024-10-31 --output $(DEMO)/ledger.xlsx
	$(DEMO_RUN) report --month 8 --year 2024 $(DEMO_OPTS) --db $(DEMO)/gaopin.db --today 2024-10-31 --out $(DEMO)/report
	@echo "演示结果在 $(DEMO)/：warnings.xlsx、ledger.xlsx、report/report.html、report/report.xlsx"

test: $(STAMP)
	$(BIN)/python -m pytest -q

sample: $(STAMP)
	$(BIN)/gaopin sample --out sample_data

docs: $(STAMP)
	$(BIN)/python tools/docs.py --write

# The pipeline fuzz of tests/test_fuzz.py with many more examples and fresh randomness (not in `make test`).
FUZZ_EXAMPLES ?= 5000
fuzz: $(STAMP)
	$(BIN)/python benchmarks/fuzz.py --examples $(FUZZ_EXAMPLES)

# The bad-input corpus under tests/data/bad/ is generated; this rewrites it.
corpus: $(STAMP)
	$(BIN)/python tests/data/bad/make_corpus.py

clean:
	rm -rf $(VENV) $(DEMO) reports .pytest_cache .hypothesis
