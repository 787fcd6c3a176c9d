# The two commands of the README:
#   make figures   regenerate the paper's figures/tables (PROFILE=quick by default, PROFILE=paper on a GPU);
#                  the studies beyond the paper (notebooks 09-15) read the tables `make studies` committed
#   make test      unit tests + every notebook under nbval (smoke profile: seconds each)
# Both create .venv and install the pinned requirements when needed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?= quick
# Data root: $GTL_DATA if set, else the shared offline subsets next to the checkout, else ./data.
GTL_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),$(CURDIR)/data)
export GTL_DATA
export PYTHONWARNINGS ?= ignore::DeprecationWarning
# The notebooks run with Jupyter's inline backend (tools/notebooks.py sets it), so they store their figures,
# one CPU thread each, several at once on a CPU (JOBS=1 for one at a time; default up to 4).
JOBS ?=
RUN_NOTEBOOKS = $(BIN)/python tools/notebooks.py run --profile $(PROFILE) $(if $(JOBS),--jobs $(JOBS),)

# The studies beyond the paper: notebooks 09-15, and the checks inside 01 and 07 (tools/notebooks.py, STUDY_TABLES).
STUDY_NOTEBOOKS = $(sort $(wildcard notebooks/01_*.ipynb notebooks/07_*.ipynb notebooks/09_*.ipynb notebooks/1[0-5]_*.ipynb))

.PHONY: install figures studies walkthrough test test-browser notebooks sync reproduce budget-long bench book clean-runs help

help:
	@echo "make figures      the paper's figures: run every notebook (PROFILE=$(PROFILE), data: $(GTL_DATA)) -> figures/,"
	@echo "                  figures/executed/; the studies (09-15) read the tables make studies committed"
	@echo "make walkthrough  notebook 00 only, a first taste in a few minutes -> figures/executed/00_walkthrough.ipynb"
	@echo "make test         pytest: unit tests + every notebook under nbval in the smoke profile"
	@echo "make test-browser JupyterLab and the book in headless Chromium (apt-get install chromium) -> docs/img/"
	@echo "make install      create .venv with the pinned requirements"
	@echo "make book         the executed notebooks as a static HTML site -> book/index.html (BOOK_SRC=$(BOOK_SRC))"
	@echo "make bench        loop vs batched population training on this machine -> figures/bench_<device>.csv"
	@echo "maintainers: make sync (notebooks <-> notebooks/*.py), make notebooks (refresh stored outputs),"
	@echo "             make reproduce (rerun from an empty cache, compare every table with the committed one),"
	@echo "             make studies (compute the studies beyond the paper, notebooks 09-15: hours on a CPU),"
	@echo "             make budget-long (notebook 14's ten-times-longer lineages: hours on a CPU; run after make figures)"

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "gtl needs Python 3.11 ($(PYTHON) is $$($(PYTHON) --version 2>&1)): make PYTHON=python3.11 ..."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps learn2learn==0.2.0 --config-settings=--build-option=build_ext
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

figures: $(STAMP)
	$(RUN_NOTEBOOKS) --out figures/executed
	@echo "== outputs (figures/):"; ls -1 figures | grep -v executed | sed 's/^/   figures\//'
	@echo "   executed notebooks: figures/executed/"

# The studies beyond the paper compute here and store their outputs in the notebooks (commit both).
studies: $(STAMP)
	GTL_STUDIES=compute $(RUN_NOTEBOOKS) --in-place $(STUDY_NOTEBOOKS)

# its figures go beside the executed copy, not over the committed ones: the checkout stays clean
walkthrough: $(STAMP)
	GTL_FIGURES=$(CURDIR)/figures/executed/figures $(RUN_NOTEBOOKS) --out figures/executed notebooks/00_walkthrough.ipynb
	@echo "open figures/executed/00_walkthrough.ipynb in Jupyter (or notebooks/00_walkthrough.ipynb to edit and run it)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

# JupyterLab (walkthrough, explorer widgets) and the book in headless Chromium (Debian: apt-get install chromium);
# its screenshots go to docs/img/ for the README. `make test` runs the same tests, screenshots aside.
test-browser: $(STAMP)
	GTL_SCREENSHOTS=$(CURDIR)/docs/img $(BIN)/python -m pytest -q -m browser tests/test_browser.py

# Maintainers. A notebook and its script notebooks/NN_name.py (jupytext) are one document:
# edit either, then `make sync`. `make notebooks` stores fresh quick-profile outputs in the
# notebooks (runs cached in runs/); `make reproduce` does it from an empty cache and compares
# every figures/*.csv with the committed one (report: figures/reproduce.md).
sync: $(STAMP)
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]_*.ipynb

notebooks: $(STAMP)
	$(RUN_NOTEBOOKS) --in-place

reproduce: $(STAMP)
	$(BIN)/python tools/reproduce.py --profile $(PROFILE) $(REPRODUCE_ARGS)

# The long budgets of docs/decisions.md #18 (notebook 14 computes them and stores its outputs): hours on a CPU.
# `make figures` only reads the tables this writes (figures/budget_long_*); run it after make figures (its
# quick budgets are then cached in runs/).
budget-long: $(STAMP)
	GTL_BUDGET_LONG=1 $(RUN_NOTEBOOKS) --in-place notebooks/14_budget_long.ipynb

# The static site: notebooks/ holds executed quick-profile outputs; after `make figures`
# use BOOK_SRC=figures/executed for this machine's run.
BOOK_SRC ?= notebooks
book: $(STAMP)
	$(BIN)/python tools/make_book.py --src $(BOOK_SRC) --out book

bench: $(STAMP)
	$(BIN)/python -m gtl.bench $(BENCH_ARGS)

clean-runs:
	rm -rf runs
