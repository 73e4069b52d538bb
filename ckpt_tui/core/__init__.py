"""The core: Ray-compatible config, run readers, retention replay, safe deletion.

Never imports Textual or watchdog (tests/test_layers.py enforces it), so scripts and the
headless CLI modes can use it without a terminal.
"""
