"""Evaluation of generated speech: intelligibility, voice similarity, quality, speed.

Pure metric functions live in ``text_metrics`` and ``quality``; the models
(ASR, speaker encoder, DNSMOS) are wrapped one per module and loaded once by
``runner.Evaluator``; ``report`` turns a results folder into HTML and
``compare`` puts two results folders side by side. Nothing here trains or
synthesizes: it reads generated-audio manifests (see docs/evaluation.md).
"""
