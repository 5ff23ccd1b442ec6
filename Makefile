# Two commands for a fresh machine with Python 3.11 and a C++ compiler:
#   make book   build the book (executes every chapter) into _build/html
#   make test   run the unit tests and every chapter as a test
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[book,test]'
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf _build
