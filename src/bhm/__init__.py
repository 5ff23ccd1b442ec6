"""Bayesian Hierarchical Models: the shared code of the course book."""
__version__ = "0.1.0"
