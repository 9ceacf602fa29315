"""Entry point for ``python -m ctxmap``."""

from ctxmap.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
