{#-
    Every published row of `entity`, from every source that feeds it, in one relation:

        <canonical columns, cast to their contract types>,
        source,         -- the registry name of the source system
        _delivery_id,   -- the delivery that published the row (lake/raw/<source>/<delivery_id>/)
        _row_number,    -- the row's number in its delivered file
        _applied_at,    -- sortable order in which the source's deliveries apply
        _is_deleted,    -- true for a tombstone: the delivery deletes this key
        _load_mode      -- the source's mode for this entity: incremental | snapshot

    One `select ... from {{ source('raw', '<source>__<entity>') }}` per source, joined by
    `union all`; the list of sources comes from the generated registry, so adding a source
    YAML touches no SQL. With no source, a zero-row select with the same typed columns, so
    downstream models build (and show the gap) before the first system is connected.

    A canonical column the raw relation lacks (a column added to the contract after the
    source's last delivery) is selected as a typed NULL, found by introspection at run time.
-#}
{% macro union_raw(entity) -%}
    {{ return(adapter.dispatch('union_raw', 'wholechild')(entity)) }}
{%- endmacro %}


{% macro default__union_raw(entity) -%}
    {%- set spec = wholechild_entity(entity) -%}
    {%- if spec.sources | length == 0 %}
    select
        {%- for column in spec.columns %}
        cast(null as {{ cast_to(column[1]) }}) as {{ column[0] }},
        {%- endfor %}
        cast(null as {{ cast_to('string') }}) as source,
        cast(null as {{ cast_to('string') }}) as _delivery_id,
        cast(null as {{ cast_to('bigint') }}) as _row_number,
        cast(null as {{ cast_to('string') }}) as _applied_at,
        cast(null as {{ cast_to('boolean') }}) as _is_deleted,
        cast(null as {{ cast_to('string') }}) as _load_mode
    from (select 1 as no_source) as no_source_feeds_{{ entity }}
    where 1 = 0
    {%- else -%}
    {%- for src in spec.sources %}
    {%- set relation = source('raw', src.name ~ '__' ~ entity) %}
    {%- set present = wholechild_relation_columns(relation) %}
    select
        {%- for column in spec.columns %}
        {%- if present is none or column[0] | lower in present %}
        cast({{ column[0] }} as {{ cast_to(column[1]) }}) as {{ column[0] }},
        {%- else %}
        cast(null as {{ cast_to(column[1]) }}) as {{ column[0] }},
        {%- endif %}
        {%- endfor %}
        cast('{{ src.name }}' as {{ cast_to('string') }}) as source,
        cast(_delivery_id as {{ cast_to('string') }}) as _delivery_id,
        cast(_row_number as {{ cast_to('bigint') }}) as _row_number,
        cast(_applied_at as {{ cast_to('string') }}) as _applied_at,
        coalesce(cast(_is_deleted as {{ cast_to('boolean') }}), false) as _is_deleted,
        cast('{{ src.mode }}' as {{ cast_to('string') }}) as _load_mode
    from {{ relation }}
    {%- if not loop.last %}

    union all
    {% endif -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#-
    Lower-cased column names of a relation, or none when they cannot be known (at parse
    time). Fails clearly when the relation does not exist: the raw views are created by
    the Python side (wholechild.warehouse) before every dbt build.
-#}
{% macro wholechild_relation_columns(relation) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) -%}
    {%- if columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "raw relation " ~ relation ~ " does not exist or has no columns: the raw views "
            ~ "are created from the lake (wholechild.warehouse) before dbt runs") }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for column in columns -%}
        {%- do names.append(column.name | lower) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}
