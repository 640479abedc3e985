"""Stage 6, verify: proven, probable or refuted for hand derivations, and the claims
runner behind ``symgrad prove``."""
