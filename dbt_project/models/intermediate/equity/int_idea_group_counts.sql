-- Counts per school year, IDEA category and racial/ethnic group for
-- mart_disproportionality: n_group, the group's students in the category's denominator,
-- and n_group_outcome, those with the outcome (removals for total_removals), from
-- int_idea_student_outcomes. Complete: every category of macros/equity_rules.sql x the 7
-- federal groups (unknown left out) for every school year with enrolled students, with
-- zeros where a group has no student, so the mart has a row to say "not calculated".
-- Grain: school_year x category x race_ethnicity.
{%- set identification = idea_identification_categories() %}
{%- set discipline = idea_discipline_categories() %}
with

outcomes as (
    select
        school_year,
        category,
        race_ethnicity,
        outcome
    from {{ ref('int_idea_student_outcomes') }}
),

years as (
    select distinct school_year from {{ ref('dim_student') }}
),

category_list as (
    select cast('identification_any' as {{ cast_to('string') }}) as category
    {%- for category in identification %}
    union all
    select 'identification_{{ category }}' as category
    {%- endfor %}
    {%- for category in discipline %}
    union all
    select '{{ category }}' as category
    {%- endfor %}
),

race_list as (
    {%- for race in idea_race_groups() %}
    {%- if loop.first %}
    select cast('{{ race }}' as {{ cast_to('string') }}) as race_ethnicity
    {%- else %}
    union all
    select '{{ race }}' as race_ethnicity
    {%- endif %}
    {%- endfor %}
),

group_counts as (
    select
        school_year,
        category,
        race_ethnicity,
        count(*) as n_group,
        sum(outcome) as n_group_outcome
    from outcomes
    group by
        school_year,
        category,
        race_ethnicity
),

final as (
    select
        cast(years.school_year as {{ cast_to('bigint') }}) as school_year,
        category_list.category,
        race_list.race_ethnicity,
        cast(coalesce(group_counts.n_group, 0) as {{ cast_to('bigint') }}) as n_group,
        cast(
            coalesce(group_counts.n_group_outcome, 0) as {{ cast_to('bigint') }}
        ) as n_group_outcome
    from years
    cross join category_list
    cross join race_list
    left join group_counts
        on
            years.school_year = group_counts.school_year
            and category_list.category = group_counts.category
            and race_list.race_ethnicity = group_counts.race_ethnicity
)

select * from final
