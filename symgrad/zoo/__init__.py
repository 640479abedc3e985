"""Ready-made losses, models and regularizers, as plain SymPy expressions."""
