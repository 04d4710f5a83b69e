"""Dagster definitions, one folder per integration (sources, dbt) plus coverage."""
