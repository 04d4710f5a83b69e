{#-
    The attendance rules of METRICS.md ("Attendance and chronic absenteeism"), each read
    from its dbt var so a district or state sets its own rule without editing SQL. Plain
    SQL (case, comparisons, casts), so they run on any engine.

    attendance_partial_day_rule(): the var `wholechild:attendance:partial_day_rule`,
    `fraction` (default: a day counts its absent share) or `half_day_whole` (CRDC: a day
    missed at least half counts as a whole day absent, less counts 0). Anything else
    fails the compile with one sentence.

    attendance_day_absence(share): a day's absence under that rule, from its absent
    share (0..1, the largest of its events' absences).

    attendance_chronic_flag(days_absent, days_enrolled): true when
    days_absent / days_enrolled >= `wholechild:attendance:chronic_threshold` (inclusive,
    compared through wholechild_stable so 17.9 of 179 days is exactly 10%);
    NULL when days_enrolled < `wholechild:attendance:chronic_min_days` (the student is
    not counted for chronic absence at all).

    attendance_band(days_absent, days_enrolled): the reporting band of the attendance
    rate (METRICS.md; Attendance Works): `satisfactory` (>= 95%), `at_risk` (90-95%),
    `chronic` (80-90%, 90% itself included, as the inclusive 10% rule makes it),
    `severe` (< 80%); NULL below the minimum days, like the chronic flag. Compared as
    the absent share, the same way as the chronic flag, so the two never disagree.
-#}
{% macro attendance_partial_day_rule() -%}
    {%- set rule = var('wholechild:attendance:partial_day_rule', 'fraction') -%}
    {%- if exceptions is defined and rule not in ['fraction', 'half_day_whole'] -%}
        {{ exceptions.raise_compiler_error(
            "var 'wholechild:attendance:partial_day_rule' is '" ~ rule
            ~ "'; use 'fraction' (the default) or 'half_day_whole' (METRICS.md)") }}
    {%- endif -%}
    {{ return(rule) }}
{%- endmacro %}


{% macro attendance_day_absence(share) -%}
    {%- if attendance_partial_day_rule() == 'half_day_whole' -%}
    case
        when {{ share }} >= 0.5 then cast(1 as {{ cast_to('double') }})
        else cast(0 as {{ cast_to('double') }})
    end
    {%- else -%}
    cast({{ share }} as {{ cast_to('double') }})
    {%- endif -%}
{%- endmacro %}


{#- The two macros below render for a select list indented 8 spaces (as the models
    call them), so the generated SQL keeps the project's layout. -#}
{% macro attendance_chronic_flag(days_absent, days_enrolled) -%}
case
            when {{ days_enrolled }} < {{ var('wholechild:attendance:chronic_min_days') }}
                then cast(null as {{ cast_to('boolean') }})
            else
                {{ wholechild_stable(days_absent ~ ' / ' ~ days_enrolled) }}
                >= cast({{ var('wholechild:attendance:chronic_threshold') }} as {{ cast_to('double') }})
        end
{%- endmacro %}


{% macro attendance_band(days_absent, days_enrolled) -%}
case
            when {{ days_enrolled }} < {{ var('wholechild:attendance:chronic_min_days') }}
                then cast(null as {{ cast_to('string') }})
            when {{ wholechild_stable(days_absent ~ ' / ' ~ days_enrolled) }} <= cast(0.05 as {{ cast_to('double') }})
                then 'satisfactory'
            when {{ wholechild_stable(days_absent ~ ' / ' ~ days_enrolled) }} < cast(0.10 as {{ cast_to('double') }})
                then 'at_risk'
            when {{ wholechild_stable(days_absent ~ ' / ' ~ days_enrolled) }} <= cast(0.20 as {{ cast_to('double') }})
                then 'chronic'
            else 'severe'
        end
{%- endmacro %}
