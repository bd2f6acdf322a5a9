"""Small helpers every layer may use: errors and crash-safe file writes.

Nothing here imports torch or any model library.
"""
