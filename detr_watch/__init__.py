"""detr-watch: a live terminal monitor for DETR-family training logs."""

__version__ = "0.1.0"
