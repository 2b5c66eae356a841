"""The ``bootwright`` command line: one module per command group; the only importer of ``app``."""
