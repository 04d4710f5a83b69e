-- Attendance per student, school and school year (PRODUCT.md; METRICS.md "Attendance and
-- chronic absenteeism"): a student is counted at each school where they were enrolled, as
-- EDFacts does. The rules that produced each row are carried as columns, from the vars.
with

school_years as (
    select
        student_key,
        school_id,
        school_year,
        days_enrolled,
        days_absent,
        first_day_enrolled,
        last_day_enrolled,
        as_of_date
    from {{ ref('int_student_attendance_school_year') }}
),

per_school as (
    select
        student_key,
        school_id,
        school_year,
        first_day_enrolled,
        last_day_enrolled,
        days_enrolled,
        as_of_date,
        -- Rounded so sums of fractions (0.33 + 0.67) land on the value a person computes.
        round(days_absent, 4) as days_absent
    from school_years
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
