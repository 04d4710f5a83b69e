{#-
    A date `n` calendar days after `date_expr` (n may be negative), as a date:

        {{ wholechild_add_days('prev_exit_date', 1) }}

    Date arithmetic is spelled differently by every engine, so it goes through
    adapter.dispatch: the default wraps dbt's cross-database `dateadd` (which returns a
    timestamp on some engines) in a cast back to date; an engine with a cheaper idiom
    adds `<adapter>__wholechild_add_days`.
    sqlfluff's jinja templater has no adapter: there the expression renders unchanged.
-#}
{% macro wholechild_add_days(date_expr, n) -%}
    {%- if adapter is not defined -%}
        {{ return(date_expr) }}
    {%- endif -%}
    {{ return(adapter.dispatch('wholechild_add_days', 'wholechild')(date_expr, n)) }}
{%- endmacro %}


{% macro default__wholechild_add_days(date_expr, n) -%}
    cast({{ dbt.dateadd('day', n, date_expr) }} as {{ cast_to('date') }})
{%- endmacro %}
