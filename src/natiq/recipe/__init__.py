"""Recipes: from a corpus to a published, evaluated Arabic voice in one command.

A recipe (``recipes/*.yaml``) is a typed model (``config``) whose sections are
the stage configs themselves (``PrepareConfig``, ``PocketTrainConfig``,
``EvalConfig``...). ``runner`` chains the stages (``stages``) into one run
folder, each calling the same library function as its command, and skips a
stage whose inputs and settings are unchanged (``state``: a recorded hash per
stage). ``evaluate`` and ``card`` are the two stages with no command of their
own before recipes.
"""
