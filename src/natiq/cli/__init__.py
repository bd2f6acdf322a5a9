"""The ``natiq`` command line: a thin typer layer over the Python API.

Each command group lives in its own module and imports heavy libraries
(torch, transformers) inside its commands, so ``natiq text ...`` starts fast.
"""
