-- Each student's outcome in every IDEA significant-disproportionality category whose
-- denominator they are in (34 CFR 300.647; METRICS.md), for mart_disproportionality.
-- Students of unknown race/ethnicity are left out (of groups and comparisons alike).
--   identification_any, identification_<category> (the 6 named categories): every
--   enrolled student (dim_student); outcome 1 with a special education program
--   overlapping the year (disability = 'yes'), for a category when that program's
--   disability_category is the category.
--   Discipline, students with disabilities only: out-of-school suspension and expulsion
--   days, and in-school suspension days, are summed over the school year
--   (fct_student_behavior_year) before the split: oss_expulsion_le10 / iss_le10 with at
--   least one such action and 10 days or fewer in the year, oss_expulsion_gt10 /
--   iss_gt10 with more than 10; a student counts in at most one of each pair.
--   total_removals: the student's removals (in-school suspension, out-of-school
--   suspension and expulsion actions), so the group's risk is removals per child.
-- Grain: student_key x school_year x category.
{%- set identification = idea_identification_categories() %}
with

students as (
    select
        student_key,
        school_year,
        race_ethnicity,
        disability,
        disability_category
    from {{ ref('dim_student') }}
    where race_ethnicity <> 'unknown'
),

behavior as (
    select
        student_key,
        school_year,
        suspensions,
        in_school_suspensions,
        out_of_school_suspensions,
        expulsions,
        in_school_suspension_days,
        out_of_school_suspension_days
    from {{ ref('fct_student_behavior_year') }}
),

students_with_disabilities as (
    select
        students.student_key,
        students.school_year,
        students.race_ethnicity,
        coalesce(behavior.suspensions, 0) as removals,
        coalesce(behavior.out_of_school_suspensions, 0)
        + coalesce(behavior.expulsions, 0) as oss_actions,
        coalesce(behavior.out_of_school_suspension_days, 0) as oss_days,
        coalesce(behavior.in_school_suspensions, 0) as iss_actions,
        coalesce(behavior.in_school_suspension_days, 0) as iss_days
    from students
    left join behavior
        on
            students.student_key = behavior.student_key
            and students.school_year = behavior.school_year
    where students.disability = 'yes'
),

outcomes as (
    select
        student_key,
        school_year,
        race_ethnicity,
        'identification_any' as category,
        case when disability = 'yes' then 1 else 0 end as outcome
    from students
    {%- for disability_category in identification %}
    union all
    select
        student_key,
        school_year,
        race_ethnicity,
        'identification_{{ disability_category }}' as category,
        case
            when
                disability = 'yes' and disability_category = '{{ disability_category }}'
                then 1
            else 0
        end as outcome
    from students
    {%- endfor %}
    union all
    select
        student_key,
        school_year,
        race_ethnicity,
        'oss_expulsion_le10' as category,
        case when oss_actions > 0 and oss_days <= 10 then 1 else 0 end as outcome
    from students_with_disabilities
    union all
    select
        student_key,
        school_year,
        race_ethnicity,
        'oss_expulsion_gt10' as category,
        case when oss_actions > 0 and oss_days > 10 then 1 else 0 end as outcome
    from students_with_disabilities
    union all
    select
        student_key,
        school_year,
        race_ethnicity,
        'iss_le10' as category,
        case when iss_actions > 0 and iss_days <= 10 then 1 else 0 end as outcome
    from students_with_disabilities
    union all
    select
        student_key,
        school_year,
        race_ethnicity,
        'iss_gt10' as category,
        case when iss_actions > 0 and iss_days > 10 then 1 else 0 end as outcome
    from students_with_disabilities
    union all
    select
        student_key,
        school_year,
        race_ethnicity,
        'total_removals' as category,
        removals as outcome
    from students_with_disabilities
),

final as (
    select
        student_key,
        cast(school_year as {{ cast_to('bigint') }}) as school_year,
        cast(category as {{ cast_to('string') }}) as category,
        race_ethnicity,
        cast(outcome as {{ cast_to('bigint') }}) as outcome
    from outcomes
)

select * from final
