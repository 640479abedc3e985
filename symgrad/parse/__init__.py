"""Stage: user text -> SymPy, through a whitelist over Python's ``ast`` (never eval)."""
from .expr import *  # noqa: F401,F403  (the parser's public names)
from .expr import __all__  # noqa: F401
