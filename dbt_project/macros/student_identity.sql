{#-
    Identity resolution helpers, all driven by the generated registry
    (macros/_generated_registry.sql), so a new entity or source needs no SQL.

    wholechild_student_ref_entities(): the canonical entities whose contract has a
    `student_ref` column, sorted.

    wholechild_roster_source(): the roster source, as wholechild.registry.Registry.roster
    picks it: the first source of `student` marked `roster: true`, else the only source
    feeding `student`, else none.

    wholechild_student_refs(): one select per (entity, source) feeding it, joined by
    `union all`: every distinct student_ref each source carries for each entity, with the
    source's declared id kind and the number of current staging rows:

        source, entity, student_ref, id_kind, n_rows

    With no source at all, a zero-row select with the same typed columns.
-#}
{% macro wholechild_student_ref_entities() -%}
    {%- set registry = wholechild_registry() if wholechild_registry is defined else {} -%}
    {%- set entities = [] -%}
    {%- for entity in registry | sort -%}
        {%- set names = [] -%}
        {%- for column in registry[entity].columns -%}
            {%- do names.append(column[0]) -%}
        {%- endfor -%}
        {%- if 'student_ref' in names -%}
            {%- do entities.append(entity) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(entities) }}
{%- endmacro %}


{% macro wholechild_roster_source() -%}
    {%- set registry = wholechild_registry() if wholechild_registry is defined else {} -%}
    {%- set feeding = registry.get('student', {}).get('sources', []) -%}
    {%- set marked = [] -%}
    {%- for src in feeding -%}
        {%- if src.roster -%}
            {%- do marked.append(src) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if marked | length > 0 -%}
        {{ return(marked[0]) }}
    {%- elif feeding | length == 1 -%}
        {{ return(feeding[0]) }}
    {%- else -%}
        {{ return(none) }}
    {%- endif -%}
{%- endmacro %}


{% macro wholechild_student_refs() -%}
    {%- set registry = wholechild_registry() if wholechild_registry is defined else {} -%}
    {%- set selects = [] -%}
    {%- for entity in wholechild_student_ref_entities() -%}
        {%- for src in registry[entity].sources -%}
            {%- set sql -%}
    select
        source,
        cast('{{ entity }}' as {{ cast_to('string') }}) as entity,
        student_ref,
        cast('{{ src.id_kind }}' as {{ cast_to('string') }}) as id_kind,
        cast(count(*) as {{ cast_to('bigint') }}) as n_rows
    from {{ ref('stg_' ~ entity) }}
    where source = '{{ src.name }}'
    group by source, student_ref
            {%- endset -%}
            {%- do selects.append(sql) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if selects | length == 0 %}
    select
        cast(null as {{ cast_to('string') }}) as source,
        cast(null as {{ cast_to('string') }}) as entity,
        cast(null as {{ cast_to('string') }}) as student_ref,
        cast(null as {{ cast_to('string') }}) as id_kind,
        cast(null as {{ cast_to('bigint') }}) as n_rows
    from (select 1 as no_source) as no_student_refs
    where 1 = 0
    {%- else -%}
        {{ selects | join('\n\n    union all\n') }}
    {%- endif -%}
{%- endmacro %}


{#-
    The plain-language name of an id kind, for reasons a steward reads:
    local -> 'local id', state -> 'state id', email -> 'email', username -> 'username'.
    `column` is a SQL expression holding the kind.
-#}
{% macro wholechild_id_kind_label(column) -%}
    case {{ column }}
        when 'local' then 'local id'
        when 'state' then 'state id'
        else {{ column }}
    end
{%- endmacro %}


{#-
    A student id normalized the way that is safe for its kind: trimmed always, and
    lower-cased for emails and usernames (case never distinguishes two accounts).
    Leading zeros are never stripped or added here: the ingest pads ids when the
    source's YAML declares pad_to.
-#}
{% macro wholechild_normalize_ref(ref_column, kind_column) -%}
    case
        when {{ kind_column }} in ('email', 'username') then lower(trim({{ ref_column }}))
        else trim({{ ref_column }})
    end
{%- endmacro %}


{#-
    wholechild_matched_students(entities): the select of every matched student identity
    of one entity (a name) or several (a list), from int_student_identity:

        source, [entity, when several,] student_ref, student_key

    Each fact joins its staging rows to it on (source, student_ref) to get the key; rows
    of unmatched refs drop out there (mart_unmatched_records lists them).
-#}
{% macro wholechild_matched_students(entities) -%}
    {%- set several = entities is not string -%}
    {%- set names = entities if several else [entities] -%}
    select
        source,
        {% if several -%} entity, {%- endif %}
        student_ref,
        student_key
    from {{ ref('int_student_identity') }}
    where
        entity in ({% for name in names %}'{{ name }}'{{ ", " if not loop.last }}{% endfor %})
        and is_matched
{%- endmacro %}
