"""Pocket TTS (kyutai) adapted to Arabic.

The model core lives in small modules, imported directly (nothing heavy is
imported here): ``tiny`` (random tiny models for tests), ``base_model``
(loading a base), ``latents`` (Mimi encoding), ``text_tokens`` (romanized and
native text modes), ``batch`` + ``forward`` + ``objectives`` (the
teacher-forced training forward and the LSD / flow-matching losses).
"""
