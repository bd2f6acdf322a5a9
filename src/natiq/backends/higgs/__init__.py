"""Higgs Audio v2 adapted to Arabic: tokenize, LoRA training, cloning, merge, memory.

Built on transformers' native ``HiggsAudioV2*`` classes (never on the
``boson-multimodal`` package). Submodules are imported on demand so that
``import natiq.backends.higgs`` stays cheap.
"""
