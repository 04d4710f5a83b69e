-- Attendance per student and school year at district level (METRICS.md): over all of the
-- student's enrollments, a day enrolled at two schools counted once, with the larger of
-- its absences there. The profile and readiness read it; the same rules as
-- fct_student_attendance_year (the vars), so the two agree for a one-school student.
with

district_days as (
    select
        student_key,
        school_year,
        calendar_date,
        max(absence) as absence
    from {{ ref('int_student_school_days') }}
    group by
        student_key,
        school_year,
        calendar_date
),

per_student as (
    select
        student_key,
        school_year,
        count(*) as days_enrolled,
        round(sum(absence), 4) as days_absent
    from district_days
    group by
        student_key,
        school_year
),

final as (
    select
        student_key,
        school_year,
        cast(days_enrolled as {{ cast_to('bigint') }}) as days_enrolled,
        cast(days_absent as {{ cast_to('double') }}) as days_absent,
        cast(
            (days_enrolled - days_absent) / days_enrolled as {{ cast_to('double') }}
        ) as attendance_rate,
        {{ attendance_chronic_flag('days_absent', 'days_enrolled') }} as is_chronically_absent,
        {{ attendance_band('days_absent', 'days_enrolled') }} as attendance_band
    from per_student
)

select * from final
