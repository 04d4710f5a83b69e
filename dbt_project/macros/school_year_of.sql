{#-
    The school year a date belongs to, as its spring year (METRICS.md: 2025-26 is 2026):
    July through December belong to the next spring's year, January through June to
    their own year.

        {{ school_year_of('e.entry_date') }}    -- 2025-08-13 -> 2026, 2026-06-04 -> 2026

    `extract` and `case` only, so it runs unchanged on DuckDB, Spark, Trino and Postgres.
    Returns a bigint (the contracts' type of school_year); NULL for a NULL date.
-#}
{% macro school_year_of(date_expr) -%}
    cast(
        extract(year from {{ date_expr }})
        + case when extract(month from {{ date_expr }}) >= 7 then 1 else 0 end
        as bigint
    )
{%- endmacro %}
