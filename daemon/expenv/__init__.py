"""expenv: an ML experimentation environment served over LSP and a CLI."""

__version__ = "0.1.0"
