# Quick start: `make demo` and `make test` work from a fresh clone; each sets up .venv itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO := demo

.PHONY: demo test venv sample docs fuzz bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gaopin 需要 Python 3.11 或更新版本")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(BIN)/gaopin warn sample_data/tickets.xlsx --config sample_data/gaopin.toml --date 2024-08-20
	$(BIN)/gaopin warn sample_data/tickets.xlsx --config sample_data/gaopin.toml --output $(DEMO)/warnings.xlsx

test: $(STAMP)
	$(BIN)/python -m pytest -q

sample: $(STAMP)
	$(BIN)/gaopin sample --out sample_data

docs: $(STAMP)
	$(BIN)/python -m gaopin.docs_check --write

clean:
	rm -rf $(VENV) $(DEMO) reports .pytest_cache .hypothesis
