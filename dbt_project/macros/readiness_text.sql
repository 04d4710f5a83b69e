{#-
    Numbers inside the plain-language reasons of the readiness marts, portable (round
    and cast only):

        {{ wholechild_number_text('gpa', 2) }}      -- 1.75
        {{ wholechild_percent_text('rate') }}      -- 0.0833 -> 8.3%
-#}
{% macro wholechild_number_text(expr, decimals=1) -%}
    cast(round({{ expr }}, {{ decimals }}) as {{ cast_to('string') }})
{%- endmacro %}


{% macro wholechild_percent_text(expr, decimals=1) -%}
    cast(round(100 * ({{ expr }}), {{ decimals }}) as {{ cast_to('string') }}) || '%'
{%- endmacro %}
