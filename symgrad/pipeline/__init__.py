"""Stage 5, the pipeline: derive -> rewrite -> codegen -> compile, and the callable
``value_and_grad`` returns (carrying what it derived, so consumers reuse it)."""
