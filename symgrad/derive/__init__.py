"""Stage 2, derive: reverse accumulation over the graph (symbolic backpropagation)."""
