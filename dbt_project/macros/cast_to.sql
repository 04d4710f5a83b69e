{#-
    The adapter's type for one of the contracts' logical types (schemas/_base.py,
    LOGICAL_TYPES): string, date, boolean, bigint, double. These are the types DuckDB and
    Spark share, so a model that casts through here runs on both.

        cast(x as {{ cast_to('bigint') }})

    dbt's cross-database type macros are used where dbt has them. `double` and `date`
    have none (dbt's type_float is a 4-byte float on DuckDB), so they are dispatched here:
    an engine whose names differ adds `<adapter>__wholechild_type_double` etc.
-#}
{% macro cast_to(logical_type) -%}
    {%- if logical_type == 'string' -%}
        {{ return(dbt.type_string()) }}
    {%- elif logical_type == 'bigint' -%}
        {{ return(dbt.type_bigint()) }}
    {%- elif logical_type == 'boolean' -%}
        {{ return(dbt.type_boolean()) }}
    {%- elif logical_type == 'double' -%}
        {{ return(wholechild_type_double()) }}
    {%- elif logical_type == 'date' -%}
        {{ return(wholechild_type_date()) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "cast_to: unknown logical type '" ~ logical_type
            ~ "' (expected string, date, boolean, bigint or double)") }}
    {%- endif -%}
{%- endmacro %}


{% macro wholechild_type_double() -%}
    {{ return(adapter.dispatch('wholechild_type_double', 'wholechild')()) }}
{%- endmacro %}

{#- 8-byte float: DuckDB, Spark, Trino and Snowflake all spell it `double`. -#}
{% macro default__wholechild_type_double() -%}
    {{ return('double') }}
{%- endmacro %}


{% macro wholechild_type_date() -%}
    {{ return(adapter.dispatch('wholechild_type_date', 'wholechild')()) }}
{%- endmacro %}

{% macro default__wholechild_type_date() -%}
    {{ return('date') }}
{%- endmacro %}
