{#-
    Numbers inside the plain-language reasons of the readiness marts, portable (round
    and cast only):

        {{ wholechild_number_text('gpa', 2) }}      -- 1.75, 3.00
        {{ wholechild_percent_text('rate') }}      -- 0.0833 -> 8.3%

    The value is rounded as a decimal, not a double: engines round a double's halfway
    case differently (DuckDB and Spark disagree on 2.325 to two places, and on values a
    sum left one bit off), so a reason would read differently on each. Nine places absorb
    the floating-point noise, then the decimal rounds half away from zero everywhere.
-#}
{% macro wholechild_number_text(expr, decimals=1) -%}
    cast(
        cast(round(cast({{ expr }} as decimal(38, 9)), {{ decimals }}) as decimal(38, {{ decimals }}))
        as {{ cast_to('string') }}
    )
{%- endmacro %}


{% macro wholechild_percent_text(expr, decimals=1) -%}
    {{ wholechild_number_text('100 * (' ~ expr ~ ')', decimals) }} || '%'
{%- endmacro %}
