"""Bayesian Hierarchical Models: the shared code of the course book."""

import warnings as _warnings

__version__ = "0.1.0"

# ArviZ 0.2x announces its coming refactor with a FutureWarning, once a day per
# machine, at its first import: in whichever chapter cell first imports it
# (through bhm.stan, bhm.diagnostics, ...), so pages differed from day to day.
# It says nothing about the book's code; silence that one message only.
_warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing a major refactor",
                         category=FutureWarning, module="arviz")
