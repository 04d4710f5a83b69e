"""wholechild core: the registry, readers, mapping and write-audit-publish of deliveries.

Nothing in this package imports Dagster: the orchestration layer (``orchestration/``) is a
thin wiring around these pure functions, and the CLI calls the same functions in-process.
"""

__version__ = "0.1.0"

import warnings

# Pandera imports pyspark.pandas whenever PySpark is installed (the `spark` extra), and
# PySpark warns on that import that it does not support pandas 3. wholechild never uses
# pyspark.pandas (the Spark target runs SQL through dbt-spark), so the warning would only
# be noise on every command. The packages that import pandera (schemas, quality,
# orchestration) import this package first, so the filter is in place before it.
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
