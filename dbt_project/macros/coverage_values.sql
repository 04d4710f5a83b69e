{#-
    A list of dicts (from the generated macros in _generated_coverage.sql) as rows:
    one `select <literal> as <column>, ...` per dict, joined by `union all`, each value
    cast to its column's logical type (cast_to), so the same SQL runs on any engine.

        {{ wholechild_values(wholechild_domains(), [['domain', 'string'],
                                                   ['domain_position', 'bigint']]) }}

    An empty string becomes NULL (the generated lists cannot hold null). With no rows,
    a zero-row select with the same typed columns.
-#}
{% macro wholechild_values(rows, columns) -%}
    {%- if rows | length == 0 %}
    select
        {%- for column in columns %}
        cast(null as {{ cast_to(column[1]) }}) as {{ column[0] }}{{ "," if not loop.last }}
        {%- endfor %}
    from (select 1 as no_row) as no_rows
    where 1 = 0
    {%- else -%}
    {%- for row in rows %}
    select
        {%- for column in columns %}
        {{ wholechild_literal(row.get(column[0]), column[1]) }} as {{ column[0] }}{{ "," if not loop.last }}
        {%- endfor %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- endif %}
{%- endmacro %}


{#- One value as a typed SQL literal: NULL for none or '', quotes doubled in strings. -#}
{% macro wholechild_literal(value, logical_type) -%}
    {%- if value is none or (value is string and value == '') -%}
        cast(null as {{ cast_to(logical_type) }})
    {%- elif logical_type == 'boolean' -%}
        {{ 'true' if value else 'false' }}
    {%- elif logical_type in ('bigint', 'double') -%}
        cast({{ value }} as {{ cast_to(logical_type) }})
    {%- else -%}
        cast('{{ value | string | replace("'", "''") }}' as {{ cast_to(logical_type) }})
    {%- endif -%}
{%- endmacro %}


{#-
    A timestamp as UTC without a time zone: the ledger's received_at and the coverage
    as-of instant compare in UTC whatever the engine's session time zone is.
-#}
{% macro wholechild_utc_timestamp(expression) -%}
    {%- if adapter is not defined -%}
        {{ return(expression) }}
    {%- endif -%}
    {{ return(adapter.dispatch('wholechild_utc_timestamp', 'wholechild')(expression)) }}
{%- endmacro %}

{% macro default__wholechild_utc_timestamp(expression) -%}
    cast({{ expression }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__wholechild_utc_timestamp(expression) -%}
    timezone('UTC', {{ expression }})
{%- endmacro %}


{#-
    The instant coverage is judged at: the var wholechild:coverage:as_of (an ISO date or
    timestamp, read as UTC) when set, else the engine's current timestamp, in UTC.
    sqlfluff's jinja templater has no adapter: there it renders as current_timestamp.
-#}
{% macro wholechild_coverage_as_of() -%}
    {%- if adapter is not defined -%}
        {{ return('current_timestamp') }}
    {%- endif -%}
    {%- set as_of = var('wholechild:coverage:as_of', none) -%}
    {%- if as_of is none or as_of == '' -%}
        {{ return(wholechild_utc_timestamp(dbt.current_timestamp())) }}
    {%- else -%}
        {{ return("cast('" ~ as_of ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
    {%- endif -%}
{%- endmacro %}


{#-
    The instant `days` (a number or a SQL expression) days before `timestamp_expr`:
    dbt's cross-database dateadd; unchanged when linting (no adapter).
-#}
{% macro wholechild_days_before(timestamp_expr, days) -%}
    {%- if adapter is not defined -%}
        {{ return(timestamp_expr) }}
    {%- endif -%}
    {{ return(dbt.dateadd('day', '-1 * (' ~ days ~ ')', timestamp_expr)) }}
{%- endmacro %}


{#-
    Whole days from `start_expr` to `end_expr` (dbt's cross-database datediff); a
    literal 0 when linting (no adapter).
-#}
{% macro wholechild_days_between(start_expr, end_expr) -%}
    {%- if adapter is not defined -%}
        {{ return('0') }}
    {%- endif -%}
    {{ return(dbt.datediff(start_expr, end_expr, 'day')) }}
{%- endmacro %}


{#-
    Strings aggregated into one, joined by `delimiter` (a SQL string literal), in the
    order of `order_by` (an `order by ...` clause): dbt's cross-database listagg; a
    plain max() when linting (no adapter).
-#}
{% macro wholechild_listagg(measure, delimiter, order_by) -%}
    {%- if adapter is not defined -%}
        {{ return('max(' ~ measure ~ ')') }}
    {%- endif -%}
    {{ return(dbt.listagg(measure, delimiter, order_by)) }}
{%- endmacro %}


{#-
    One text field of a quarantined record (JSON text of the delivered row, keyed by the
    source's headers), or NULL: JSON functions differ by engine, hence the dispatch.
-#}
{% macro wholechild_json_text(json_column, key) -%}
    {%- if adapter is not defined -%}
        {{ return('nullif(' ~ json_column ~ ', ' ~ key ~ ')') }}
    {%- endif -%}
    {{ return(adapter.dispatch('wholechild_json_text', 'wholechild')(json_column, key)) }}
{%- endmacro %}

{% macro default__wholechild_json_text(json_column, key) -%}
    cast(null as {{ cast_to('string') }})
{%- endmacro %}

{% macro duckdb__wholechild_json_text(json_column, key) -%}
    json_extract_string({{ json_column }}, '$."' || {{ key }} || '"')
{%- endmacro %}

{% macro spark__wholechild_json_text(json_column, key) -%}
    get_json_object({{ json_column }}, concat('$.', {{ key }}))
{%- endmacro %}


{#-
    Whether a row of an entity falls in the school year of `year_alias` (a relation with
    school_year, year_start, year_end), by the entity's rule from the generated
    wholechild_entity_years(): `span` (start..end overlaps the year; NULL start or end
    is open), `year` (its school_year column, else the school year of its event date),
    `date` (the school year of its event date) or `any` (every year).
-#}
{% macro wholechild_in_year(rule, row_alias, year_alias) -%}
    {%- if rule.kind == 'span' -%}
        coalesce({{ row_alias }}.{{ rule.start }}, {{ year_alias }}.year_start) <= {{ year_alias }}.year_end
        and coalesce({{ row_alias }}.{{ rule['end'] }}, {{ year_alias }}.year_end) >= {{ year_alias }}.year_start
    {%- elif rule.kind == 'year' and rule.date -%}
        coalesce({{ row_alias }}.{{ rule.column }}, {{ school_year_of(row_alias ~ '.' ~ rule.date) }}) = {{ year_alias }}.school_year
    {%- elif rule.kind == 'year' -%}
        {{ row_alias }}.{{ rule.column }} = {{ year_alias }}.school_year
    {%- elif rule.kind == 'date' -%}
        {{ school_year_of(row_alias ~ '.' ~ rule.column) }} = {{ year_alias }}.school_year
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}
