"""``python -m symgrad``: the same command line as the ``symgrad`` script."""
import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
