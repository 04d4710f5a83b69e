{#-
    The lists and rules of METRICS.md's "Equity gaps", "Small-cell suppression" and
    "IDEA significant disproportionality", in one place so the intermediate models, the
    marts and their tests agree. Plain SQL only (case, comparisons, floor, casts, ||), so
    the generated SQL runs on DuckDB, Spark and Trino alike.

    equity_metrics(): the binary student metrics of mart_equity_gaps, in report order.

    equity_dimensions(): [(dimension, [subgroup, ...]), ...] in report order. Every
    subgroup is listed, so a subgroup with no student in a scope still has its row
    (n_students 0, suppressed). race_ethnicity: the 7 federal codes (hispanic_latino
    first, as METRICS.md derives them) and unknown; sex: CANONICAL.md's codes; the
    program dimensions: yes/no.

    equity_subgroups_sql(): the same list as a relation (dimension, subgroup,
    subgroup_order), a union of one-row selects (no VALUES list, no engine-specific
    syntax).

    equity_rate_display(n_students, n_outcome): the published text of an
    unsuppressed rate (METRICS.md, NCES SLDS brief 2011-603 style): top/bottom coded by
    the subgroup's size, else the rate rounded half up to a whole percent. Integer
    comparisons (100 * n_outcome >= 99 * n_students), so a rate exactly on a bound
    (297/300) is coded the same on every engine, free of float error.

    idea_race_groups(): the 7 federal groups of the disproportionality review (unknown
    is left out of groups and comparisons, METRICS.md).

    idea_identification_categories() / idea_discipline_categories(): the category codes
    of state_comparison (CANONICAL.md) the review computes.
-#}
{% macro equity_metrics() -%}
    {{ return([
        'chronically_absent',
        'ela_proficient',
        'math_proficient',
        'suspended',
        'off_track',
        'advanced_course_enrolled',
        'taught_by_inexperienced_teacher',
        'gifted_identified',
    ]) }}
{%- endmacro %}


{% macro equity_dimensions() -%}
    {{ return([
        ('race_ethnicity', [
            'hispanic_latino',
            'american_indian_alaska_native',
            'asian',
            'black',
            'native_hawaiian_pacific_islander',
            'white',
            'two_or_more',
            'unknown',
        ]),
        ('sex', ['female', 'male', 'nonbinary', 'not_selected']),
        ('disability', ['yes', 'no']),
        ('english_learner', ['yes', 'no']),
        ('economically_disadvantaged', ['yes', 'no']),
        ('homeless', ['yes', 'no']),
        ('foster_care', ['yes', 'no']),
    ]) }}
{%- endmacro %}


{% macro equity_subgroups_sql() -%}
    {%- set rows = [] -%}
    {%- for dimension, subgroups in equity_dimensions() -%}
        {%- for subgroup in subgroups -%}
            {%- do rows.append(
                "select cast('" ~ dimension ~ "' as " ~ cast_to('string') ~ ") as dimension, "
                ~ "cast('" ~ subgroup ~ "' as " ~ cast_to('string') ~ ") as subgroup, "
                ~ "cast(" ~ loop.index ~ " as " ~ cast_to('bigint') ~ ") as subgroup_order"
            ) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(rows | join('\n        union all\n        ')) }}
{%- endmacro %}


{% macro equity_rate_display(n_students, n_outcome) -%}
case
            when {{ n_students }} >= 300 and 100 * {{ n_outcome }} >= 99 * {{ n_students }}
                then '>=99%'
            when {{ n_students }} >= 300 and 100 * {{ n_outcome }} <= 1 * {{ n_students }}
                then '<=1%'
            when {{ n_students }} between 100 and 299 and 100 * {{ n_outcome }} >= 98 * {{ n_students }}
                then '>=98%'
            when {{ n_students }} between 100 and 299 and 100 * {{ n_outcome }} <= 2 * {{ n_students }}
                then '<=2%'
            when {{ n_students }} between 40 and 99 and 100 * {{ n_outcome }} >= 95 * {{ n_students }}
                then '>=95%'
            when {{ n_students }} between 40 and 99 and 100 * {{ n_outcome }} <= 5 * {{ n_students }}
                then '<=5%'
            when {{ n_students }} between 10 and 39 and 100 * {{ n_outcome }} >= 90 * {{ n_students }}
                then '>=90%'
            when {{ n_students }} between 10 and 39 and 100 * {{ n_outcome }} <= 10 * {{ n_students }}
                then '<=10%'
            else
                cast(
                    cast(
                        floor((200.0 * {{ n_outcome }} + {{ n_students }}) / (2.0 * {{ n_students }}))
                        as {{ cast_to('bigint') }}
                    ) as {{ cast_to('string') }}
                ) || '%'
        end
{%- endmacro %}


{% macro idea_race_groups() -%}
    {{ return([
        'hispanic_latino',
        'american_indian_alaska_native',
        'asian',
        'black',
        'native_hawaiian_pacific_islander',
        'white',
        'two_or_more',
    ]) }}
{%- endmacro %}


{% macro idea_identification_categories() -%}
    {{ return([
        'intellectual_disability',
        'specific_learning_disability',
        'emotional_disturbance',
        'speech_language_impairment',
        'other_health_impairment',
        'autism',
    ]) }}
{%- endmacro %}


{% macro idea_discipline_categories() -%}
    {{ return([
        'oss_expulsion_le10',
        'oss_expulsion_gt10',
        'iss_le10',
        'iss_gt10',
        'total_removals',
    ]) }}
{%- endmacro %}
