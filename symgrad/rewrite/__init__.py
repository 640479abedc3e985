"""Stage 3, rewrite: stable forms on the graph before code generation."""
