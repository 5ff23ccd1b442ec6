# Two commands for a fresh machine with Python 3.11 and a C++ compiler:
#   make book   build the book (executes every chapter) into _build/html
#   make test   run the unit tests and every chapter as a test
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

ASSETS := _build/assets
MATHJAX := $(ASSETS)/mathjax/tex-chtml.js

.PHONY: book test clean

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

book: $(STAMP) $(MATHJAX) $(SOURCES)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf _build
