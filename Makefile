# The two commands of the README:
#   make figures   regenerate every figure/table (PROFILE=quick by default, PROFILE=paper on a GPU)
#   make test      unit tests + the notebooks under nbval (quick profile)
# Both create .venv and install the pinned requirements when needed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?= quick
# Data root: $GTL_DATA if set, else the shared offline subsets next to the checkout, else ./data.
GTL_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),$(CURDIR)/data)
export GTL_DATA
export MPLBACKEND ?= Agg
export PYTHONWARNINGS ?= ignore::DeprecationWarning

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

.PHONY: install figures test notebooks bench book clean-runs help

help:
	@echo "make figures   run every notebook with papermill (PROFILE=$(PROFILE), data: $(GTL_DATA))"
	@echo "make test      pytest: unit tests + nbval over the notebooks"
	@echo "make install   create .venv with the pinned requirements"
	@echo "make book      the executed notebooks as a static HTML site -> book/index.html (BOOK_SRC=$(BOOK_SRC))"
	@echo "make bench     loop vs batched population training on this machine -> figures/bench_<device>.csv"

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps learn2learn==0.2.0 --config-settings=--build-option=build_ext
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

figures: $(STAMP)
	@mkdir -p figures/executed
	@for nb in $(NOTEBOOKS); do \
	  echo "== $$nb ($(PROFILE))"; \
	  $(BIN)/papermill --cwd notebooks -p profile $(PROFILE) $$nb figures/executed/$$(basename $$nb) || exit 1; \
	done
	@echo "== outputs (figures/):"; ls -1 figures | grep -v executed | sed 's/^/   figures\//'
	@echo "   executed notebooks: figures/executed/"

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Maintainers: rebuild the notebooks from tools/build_notebooks.py and store fresh quick-profile
# outputs in them (the reference nbval compares against).
notebooks: $(STAMP)
	$(BIN)/python tools/build_notebooks.py
	@for nb in $(NOTEBOOKS); do $(BIN)/papermill --cwd notebooks $$nb $$nb || exit 1; done

# The static site: notebooks/ holds executed quick-profile outputs; after `make figures`
# use BOOK_SRC=figures/executed for this machine's run.
BOOK_SRC ?= notebooks
book: $(STAMP)
	$(BIN)/python tools/make_book.py --src $(BOOK_SRC) --out book

bench: $(STAMP)
	$(BIN)/python -m gtl.bench $(BENCH_ARGS)

clean-runs:
	rm -rf runs
