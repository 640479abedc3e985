"""Stage 7, train: optimizers, data loading and ``fit``."""
