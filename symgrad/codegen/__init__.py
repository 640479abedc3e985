"""Stage 4, codegen: graph -> readable, deterministic source (one printer per backend)."""
