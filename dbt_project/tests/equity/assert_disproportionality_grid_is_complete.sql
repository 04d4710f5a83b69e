-- Fails for every school year with enrolled students whose mart_disproportionality rows
-- are not every category x every one of the 7 federal groups (macros/equity_rules.sql).
{%- set n_categories = 1 + idea_identification_categories() | length
    + idea_discipline_categories() | length %}
{%- set n_groups = idea_race_groups() | length %}
with

years as (
    select distinct school_year from {{ ref('dim_student') }}
),

per_year as (
    select
        years.school_year,
        count(distinct dispro.category) as n_categories,
        count(distinct dispro.race_ethnicity) as n_groups,
        count(dispro.category) as n_rows
    from years
    left join {{ ref('mart_disproportionality') }} as dispro
        on years.school_year = dispro.school_year
    group by years.school_year
)

select *
from per_year
where
    n_categories <> {{ n_categories }}
    or n_groups <> {{ n_groups }}
    or n_rows <> {{ n_categories * n_groups }}
