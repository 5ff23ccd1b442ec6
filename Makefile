# Two commands for a fresh machine with Python 3.11 and a C++ compiler:
#   make book   build the book (executes every chapter) into _build/html
#   make test   lint (ruff), build the book, then run the unit tests and the docstrings'
#               examples, every chapter as a test, and every page of the built book in headless Chromium
#   make pdf    the whole book as one PDF → _build/pdf/ (from the built book)
#   make slides one reveal.js deck per chapter → _build/slides/ (from the built book)
# Optional: make linkcheck   check the book's external links (needs the network)
#           make lock        refresh the lock files (then run the full `make test`)
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Exact versions, with hashes, of everything `make book` and `make test` install
# (pyproject.toml's dependencies and its extras book and test) for Python 3.11:
# one lock for Linux (also WSL2), one for macOS (the same versions, plus appnope).
LOCK_OS := $(if $(filter Darwin,$(shell uname -s)),macos,linux)
LOCK    := requirements/lock-py311-$(LOCK_OS).txt

ASSETS := _build/assets
MATHJAX := $(ASSETS)/mathjax/tex-chtml.js

.PHONY: book test lint lab chromium poppler pdf slides linkcheck lock clean

# Everything from the lock, each file checked against its hash (the lock pins pip
# too); then bhm itself, editable, built with the lock's setuptools.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Refresh both locks: the newest versions that pyproject.toml allows, resolved by
# uv for Python 3.11 on Linux (x86_64) and on macOS (arm64, macOS 14, whose
# httpstan wheels need it; each lock holds the hashes of every platform's wheels
# of its versions, so it serves Intel Macs too), whatever machine runs it.
# `make lock LOCK_UPGRADE=` keeps every pin that still fits (to add a dependency
# and move nothing else). Afterwards run the full `make test`: it installs the
# new lock and checks every number of the book with it. uv runs from its own
# venv, not the book's.
UV_VERSION   ?= 0.13.9
LOCK_UPGRADE ?= --upgrade
LOCKTOOLS    := _build/locktools
UV_COMPILE    = $(LOCKTOOLS)/bin/uv pip compile pyproject.toml requirements/installer.in --extra book \
  --extra test --generate-hashes --python-version 3.11 $(LOCK_UPGRADE) --custom-compile-command 'make lock' --quiet
lock:
	$(PYTHON) -m venv $(LOCKTOOLS)
	$(LOCKTOOLS)/bin/python -m pip install --quiet 'uv==$(UV_VERSION)'
	$(UV_COMPILE) --python-platform x86_64-unknown-linux-gnu -o requirements/lock-py311-linux.txt
	MACOSX_DEPLOYMENT_TARGET=14.0 $(UV_COMPILE) --python-platform aarch64-apple-darwin \
	  -o requirements/lock-py311-macos.txt

# MathJax is served from the book's own files (npm package), never from a CDN.
$(MATHJAX):
	npm install --silent --no-save --no-package-lock --prefix _build/npm mathjax@3
	mkdir -p $(ASSETS) && rm -rf $(ASSETS)/mathjax
	cp -r _build/npm/node_modules/mathjax/es5 $(ASSETS)/mathjax

# The execution cache keys on each chapter's text only: when the package, a
# Stan program or the lock (the installed versions) changes, every chapter must run again.
SOURCES := _build/.sources-stamp
$(SOURCES): $(shell find src/bhm stan -type f \( -name '*.py' -o -name '*.stan' \)) $(LOCK)
	rm -rf _build/.jupyter_cache _build/.doctrees
	mkdir -p _build && touch $@

# CI (.ci/run sets CI=true) executes every chapter from scratch. _config.yml says
# `execute_notebooks: cache`, and in a fresh clone that already means `force`: there
# is no _build/.jupyter_cache, so every chapter runs. In case a CI machine keeps
# _build, CI=true also empties the cache and the doctrees first (Sphinx re-reads,
# hence re-executes, only the pages it has no doctree for, even under `force`).
# Every program in stan/ but the two that neither a chapter nor a test runs (the
# benchmark's naive GCSE program and the loop version of varying_slope, kept to
# read): those compile on first use, if ever.
STAN_AHEAD := $(filter-out gcse_naive varying_slope_loop,$(basename $(notdir $(wildcard stan/*.stan))))

book: $(STAMP) $(MATHJAX) $(SOURCES)
#
# jupyter-book runs through $(BIN)/python, not its script's own shebang
# (python3.11): the chapters' kernels inherit the interpreter's path, and
# httpstan names a compiled Stan program by a hash that includes that path. With
# the same path as `make test`'s pytest, each program compiles once on a fresh
# machine, not once for the build and again for the tests (about a minute each).
# Before the chapters run, `bhm compile` compiles every program in stan/ that the
# cache lacks, one compiler per core (a minute each, single-threaded): on a fresh
# 2-core machine that halves the ~12 minutes the chapters and tests spent compiling.
# BHM_CHECK_FIGURE_TEXT=1: a figure whose text would show under 9 pt in the
# column warns on its page (bhm.plots.use_style), and tests/test_browser.py fails.
ifeq ($(CI),true)
	rm -rf _build/.jupyter_cache _build/.doctrees
endif
	$(BIN)/python -m bhm compile $(STAN_AHEAD)
	BHM_CHECK_FIGURE_TEXT=1 $(BIN)/python $(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

# tests/test_browser.py opens the built pages in Debian's Chromium (never a
# browser that Playwright downloads). Install it when it is missing and we can:
# as root with apt-get (`apt-get update` only if the first try fails).
# Otherwise the browser test skips and says why.
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "chromium: installing Debian's package for the browser test"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q chromium >/dev/null \
	  || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } \
	  || echo "chromium: apt-get could not install it; the browser test will skip"; \
	else \
	  echo "chromium: not installed, and installing it needs root and apt-get; the browser test will skip"; \
	fi

# ruff (configured in pyproject.toml) over the package, tests, benchmarks, the book's extension and
# the chapters' code: each chapter written as a script by jupytext into _build/lint first.
lint: $(STAMP)
	$(BIN)/python -m ruff check src tests benchmarks _ext instructor conftest.py
	rm -rf _build/lint && mkdir -p _build/lint
	for chapter in book/[0-9][0-9]_*.md; do \
	  $(BIN)/jupytext --quiet --to py:percent -o _build/lint/$$(basename $${chapter%.md}).py $$chapter || exit 1; \
	done
	$(BIN)/python -m ruff check --no-force-exclude _build/lint

# pdftotext (poppler-utils) reads the PDF's text in tests/test_pdf.py; without it the test uses pypdf's
# own text extraction. Installed like chromium: as root with apt-get, else left alone.
poppler:
	@if command -v pdftotext >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "poppler: installing Debian's poppler-utils for the PDF test"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q poppler-utils >/dev/null \
	  || { apt-get update -q >/dev/null && apt-get install -y -q poppler-utils >/dev/null; } \
	  || echo "poppler: apt-get could not install it; the PDF test reads the text with pypdf"; \
	fi

# The instructor's edition reads the built book and executes nothing. With a built book (its
# _build/html/index.html) it uses that book as it is: run `make book` first to bring it up to date
# (`make test` does); on a fresh clone it builds the book first.
BUILT  := _build/html/index.html
PDF    := _build/pdf/bayesian-hierarchical-models.pdf
$(BUILT):
	$(MAKE) book

# The PDF: Chromium prints the built pages (instructor/pdf.py).
pdf: $(STAMP) $(BUILT) chromium
	$(BIN)/python -m instructor.pdf --out $(PDF)

# reveal.js from npm, like MathJax, into a folder of its own: an npm install removes what its own
# list lacks, and _build/assets is copied into the web book.
REVEAL_VERSION ?= 6.0.2
REVEAL := _build/npm-slides/node_modules/reveal.js/dist/reveal.js
$(REVEAL):
	npm install --silent --no-save --no-package-lock --prefix _build/npm-slides reveal.js@$(REVEAL_VERSION)

# The decks: instructor/slides/<chapter>.yml says what goes on each slide (instructor/slides.py).
slides: $(STAMP) $(BUILT) $(REVEAL)
	$(BIN)/python -m instructor.slides --out _build/slides

# pytest-xdist: TEST_WORKERS processes share the tests, file by file (a chapter's cells share one kernel).
TEST_WORKERS ?= 2
# The PDF needs Chromium; without it (no root to install it) its test skips, like the browser test.
test: lint book chromium poppler slides
	@if $(BIN)/python -c "from instructor.common import chromium_executable as c; c()" 2>/dev/null; \
	then $(MAKE) --no-print-directory pdf; else echo "pdf: no Chromium, so no PDF; tests/test_pdf.py will skip"; fi
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The exercise route: write the student notebooks that exercises/ lacks (the ones
# there, with your answers, are kept) and open JupyterLab on them. The chapters'
# sources, book/*.md, open there as notebooks too (jupytext's extension: right-click,
# Open With, Jupytext Notebook). tests/test_jupyterlab.py walks this route.
lab: $(STAMP)
	$(BIN)/python -m bhm exercises --out exercises/ --keep
	$(BIN)/python -m jupyterlab --ServerApp.root_dir=. exercises/

# Not part of the tests: external sites come and go, and CI has no network.
# Jupyter Book 1 writes the report to _build/html/output.txt.
linkcheck: $(STAMP) $(MATHJAX) $(SOURCES)
	$(BIN)/python $(BIN)/jupyter-book build . --builder linkcheck

clean:
	rm -rf _build
