{#-
    Schemas are exactly the names the product documents (staging, intermediate, marts),
    not dbt's default `<target schema>_<custom schema>`: analysts and the Python side
    (share/, analytics.duckdb, Dagster checks) address marts.<table> directly.
    A model without a custom schema lands in the target's schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
