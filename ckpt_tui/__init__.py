"""ckpt-tui: browse, rank and prune Ray Tune / Ray Train checkpoints in the terminal."""

__version__ = "0.1.0"
