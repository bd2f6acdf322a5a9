"""Speech models behind one small interface (``natiq.backends.base``).

Each backend lives in its own subpackage and is imported only when asked for,
so using Pocket TTS never imports the Higgs stack and vice versa.
"""
