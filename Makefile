# Two commands: `make run` (set up, run the quick study, write its report) and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DB      ?= results/quick.sqlite
REPORT  ?= results/quick-report

.PHONY: run test lint install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	# The CPU build of torch first, so nothing pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/gan-oversampling run quick --db $(DB)
	$(BIN)/gan-oversampling report $(DB) --out $(REPORT)

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks analysis
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) results/quick.sqlite results/quick-report
