"""Speech data: manifests, corpora readers, audio processing, ChatML samples.

Data is described by plain JSONL records (see ``docs/data-format.md``) and kept
apart from the code that processes it. No model code is imported here.
"""
