"""One training design for every natiq trainer.

A trainer reads top to bottom like nanoGPT's loop: config, ``Accelerator``,
model, data, optimizer and schedule, then for each step batch -> forward ->
weighted loss -> ``accelerator.backward`` -> clip -> optimizer and schedule step
-> EMA -> log -> eval -> save. Accelerate's ``prepare``, ``accumulate``,
``backward``, ``save_state`` and ``load_state`` are the only wrapping; these
modules hold what both trainers share:

- ``config``: settings as typed models, YAML + command-line overrides;
- ``accelerator``: the ``Accelerator``, process count, sharding questions;
- ``batches``: global batches sharded so N processes equal one;
- ``schedule``: AdamW and transformers' schedules, counted in optimizer steps;
- ``ema``: EMA of the prepared (possibly sharded) parameters;
- ``checkpoint``: the run folder, its records, atomic publish and pruning;
- ``runlog``: main-process logging; ``evaluation``: lockstep validation,
  samples on the main process, background scoring.
"""
