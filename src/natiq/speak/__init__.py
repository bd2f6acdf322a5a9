"""Speaking jobs built on the Synthesizer: files, streams and resumable batches.

Sits above ``natiq.synthesizer`` and below the CLI and server, which call it
instead of re-implementing file writing, batch resumption or transliterated
output names.
"""
