{#-
    The rows of `relation` (the output of union_raw(entity)) that are current, by each
    source's mode (docs/ARCHITECTURE.md, decision 3: raw is append-only; staging decides):

    - incremental (upsert by key): per source and entity key, the row of the latest
      delivery wins: greatest _applied_at, then _delivery_id, then _row_number. If that
      row is a tombstone (_is_deleted), the key is gone.
    - snapshot (each delivery replaces the source's rows): only the rows of the source's
      latest delivery of this entity (greatest _applied_at, then _delivery_id) count.

    Keys compare NULL-safely (an optional key column's NULLs fall in one partition), as
    the contracts' uniqueness rule does. Window functions only, so it runs on any engine;
    an engine with a faster idiom (QUALIFY) can add `<adapter>__current_rows`.

    Returns the canonical columns, source, _delivery_id, _row_number and _applied_at.
-#}
{% macro current_rows(relation, entity) -%}
    {{ return(adapter.dispatch('current_rows', 'wholechild')(relation, entity)) }}
{%- endmacro %}


{% macro default__current_rows(relation, entity) -%}
    {%- set spec = wholechild_entity(entity) -%}
    {%- set columns = [] -%}
    {%- for column in spec.columns -%}
        {%- do columns.append(column[0]) -%}
    {%- endfor %}
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        source,
        _delivery_id,
        _row_number,
        _applied_at
    from (
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            source,
            _delivery_id,
            _row_number,
            _applied_at,
            _is_deleted,
            _load_mode,
            row_number() over (
                partition by source{% for k in spec.key %}, {{ k }}{% endfor %}
                order by _applied_at desc, _delivery_id desc, _row_number desc
            ) as key_recency,
            dense_rank() over (
                partition by source
                order by _applied_at desc, _delivery_id desc
            ) as delivery_recency
        from {{ relation }}
    ) as ranked
    where
        not _is_deleted
        and (
            (_load_mode = 'incremental' and key_recency = 1)
            or (_load_mode = 'snapshot' and delivery_recency = 1)
        )
{%- endmacro %}
