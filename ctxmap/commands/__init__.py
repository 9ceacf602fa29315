"""Sub-command groups of the ``python -m ctxmap`` command line (see :mod:`ctxmap.cli`)."""
