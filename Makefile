# Two commands for a fresh machine with Python 3.11 and a C++ compiler:
#   make book   build the book (executes every chapter) into _build/html
#   make test   build the book, then run the unit tests, every chapter as a test,
#               and every page of the built book in headless Chromium
# Optional: make linkcheck   check the book's external links (needs the network)
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

ASSETS := _build/assets
MATHJAX := $(ASSETS)/mathjax/tex-chtml.js

.PHONY: book test chromium linkcheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[book,test]'
	touch $(STAMP)

# MathJax is served from the book's own files (npm package), never from a CDN.
$(MATHJAX):
	npm install --silent --no-save --no-package-lock --prefix _build/npm mathjax@3
	mkdir -p $(ASSETS) && rm -rf $(ASSETS)/mathjax
	cp -r _build/npm/node_modules/mathjax/es5 $(ASSETS)/mathjax

# The execution cache keys on each chapter's text only: when the package or a
# Stan program changes, every chapter must run again.
SOURCES := _build/.sources-stamp
$(SOURCES): $(shell find src/bhm stan -type f -not -name '*.pyc')
	rm -rf _build/.jupyter_cache _build/.doctrees
	mkdir -p _build && touch $@

# CI (.ci/run sets CI=true) executes every chapter from scratch. _config.yml says
# `execute_notebooks: cache`, and in a fresh clone that already means `force`: there
# is no _build/.jupyter_cache, so every chapter runs. In case a CI machine keeps
# _build, CI=true also empties the cache and the doctrees first (Sphinx re-reads,
# hence re-executes, only the pages it has no doctree for, even under `force`).
book: $(STAMP) $(MATHJAX) $(SOURCES)
#
# jupyter-book runs through $(BIN)/python, not its script's own shebang
# (python3.11): the chapters' kernels inherit the interpreter's path, and
# httpstan names a compiled Stan program by a hash that includes that path. With
# the same path as `make test`'s pytest, each program compiles once on a fresh
# machine, not once for the build and again for the tests (~35 s each).
ifeq ($(CI),true)
	rm -rf _build/.jupyter_cache _build/.doctrees
endif
	$(BIN)/python $(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

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

test: book chromium
	$(BIN)/python -m pytest

# Not part of the tests: external sites come and go, and CI has no network.
# Jupyter Book 1 writes the report to _build/html/output.txt.
linkcheck: $(STAMP) $(MATHJAX) $(SOURCES)
	$(BIN)/python $(BIN)/jupyter-book build . --builder linkcheck

clean:
	rm -rf _build
