"""``python -m openlive``: the same command line as ``openlive``."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
