"""Small helpers every layer may use: errors, crash-safe file writes, and the
device/precision choice of torch-using stages.

Only ``natiq.common.runtime`` imports torch, and only the torch-using layers
(backends, eval, serve, cli) import it; ``text`` and ``data`` never do.
"""
