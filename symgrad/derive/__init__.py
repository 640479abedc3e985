"""Stage 2, derive: reverse accumulation over the graph (symbolic backpropagation), and
second derivatives in closed form."""
