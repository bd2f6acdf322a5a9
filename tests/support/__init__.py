"""Shared test helpers: corpora, ChatML samples, manifests and browser flags.

Imported as ``support.<area>`` (``tests/`` is on pytest's ``pythonpath``), so a
helper has one home whatever folder the test runs from.
"""
