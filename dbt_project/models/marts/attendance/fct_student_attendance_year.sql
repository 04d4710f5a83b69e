-- Attendance per student, school and school year (PRODUCT.md; METRICS.md "Attendance and
-- chronic absenteeism"): a student is counted at each school where they were enrolled, as
-- EDFacts does. The rules that produced each row are carried as columns, from the vars.
with

school_days as (
    select
        student_key,
        school_id,
        school_year,
        calendar_date,
        absence,
        as_of_date
    from {{ ref('int_student_school_days') }}
),

per_school as (
    select
        student_key,
        school_id,
        school_year,
        min(calendar_date) as first_day_enrolled,
        max(calendar_date) as last_day_enrolled,
        count(*) as days_enrolled,
        -- Rounded so sums of fractions (0.33 + 0.67) land on the value a person computes.
        round(sum(absence), 4) as days_absent,
        max(as_of_date) as as_of_date
    from school_days
    group by
        student_key,
        school_id,
        school_year
),

final as (
    select
        student_key,
        school_id,
        school_year,
        cast(days_enrolled as {{ cast_to('bigint') }}) as days_enrolled,
        cast(days_absent as {{ cast_to('double') }}) as days_absent,
        cast(
            (days_enrolled - days_absent) / days_enrolled as {{ cast_to('double') }}
        ) as attendance_rate,
        {{ attendance_chronic_flag('days_absent', 'days_enrolled') }} as is_chronically_absent,
        {{ attendance_band('days_absent', 'days_enrolled') }} as attendance_band,
        first_day_enrolled,
        last_day_enrolled,
        as_of_date,
        cast(
            {{ var('wholechild:attendance:chronic_threshold') }} as {{ cast_to('double') }}
        ) as chronic_threshold,
        cast(
            {{ var('wholechild:attendance:chronic_min_days') }} as {{ cast_to('bigint') }}
        ) as chronic_min_days,
        cast('{{ attendance_partial_day_rule() }}' as {{ cast_to('string') }}) as partial_day_rule
    from per_school
)

select * from final
