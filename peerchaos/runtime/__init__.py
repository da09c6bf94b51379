"""Runtimes: where pods live. Everything above this package is written once."""
