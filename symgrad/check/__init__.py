"""Stage 6, check: the three-way gradient check (symbolic, finite differences, generated)."""
