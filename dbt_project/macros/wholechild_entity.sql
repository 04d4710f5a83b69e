{#-
    One canonical entity as the generated registry describes it
    (macros/_generated_registry.sql, written by `python -m orchestration.dbt_prepare`
    from schemas/ and sources/*.yml):

        {'columns': [[name, logical_type], ...], 'key': [...], 'required': [...],
         'domain': ..., 'sources': [{'name': ..., 'mode': 'incremental'|'snapshot'}, ...]}

    Fails with one clear sentence when the registry was not generated, or when the
    entity has no contract in schemas/. At parse time (execute is false) an unknown
    entity returns a one-column placeholder instead, so one missing contract does not
    stop the whole project from parsing.
-#}
{% macro wholechild_entity(entity) -%}
    {%- if wholechild_registry is not defined -%}
        {{ exceptions.raise_compiler_error(
            "macros/_generated_registry.sql is missing: run `python -m orchestration.dbt_prepare` "
            ~ "before dbt (it generates the raw sources and the entity registry)") }}
    {%- endif -%}
    {%- set registry = wholechild_registry() -%}
    {%- if entity in registry -%}
        {{ return(registry[entity]) }}
    {%- elif execute -%}
        {{ exceptions.raise_compiler_error(
            "entity '" ~ entity ~ "' has no contract in schemas/ (known: "
            ~ (registry.keys() | sort | join(', ')) ~ "); add schemas/" ~ entity
            ~ ".py and run `python -m orchestration.dbt_prepare`") }}
    {%- else -%}
        {{ return({
            'columns': [['source_record_id', 'string']],
            'key': ['source_record_id'],
            'required': [],
            'domain': 'unknown',
            'sources': [],
        }) }}
    {%- endif -%}
{%- endmacro %}


{#-
    The entity's canonical columns, comma-separated for a select list, in contract order:

        select {{ canonical_columns('school') }}, source from ...
-#}
{% macro canonical_columns(entity) -%}
    {%- set spec = wholechild_entity(entity) -%}
    {%- for column in spec.columns -%}
        {{ column[0] }}{{ ",\n        " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
