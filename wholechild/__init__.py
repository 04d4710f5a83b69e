"""wholechild core: the registry, readers, mapping and write-audit-publish of deliveries.

Nothing in this package imports Dagster: the orchestration layer (``orchestration/``) is a
thin wiring around these pure functions, and the CLI calls the same functions in-process.
"""

__version__ = "0.1.0"
