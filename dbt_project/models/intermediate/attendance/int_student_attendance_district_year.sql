-- Attendance per student and school year at district level (METRICS.md): over all of the
-- student's enrollments, a day enrolled at two schools counted once, with the larger of
-- its absences there. The profile and readiness read it; the same rules as
-- fct_student_attendance_year (the vars), so the two agree for a one-school student.
-- From the per-school counts (int_student_attendance_school_year), except for students
-- two of whose spans share a day: their listed days (int_student_overlapping_school_days).
with

school_years as (
    select
        student_key,
        school_year,
        days_enrolled,
        days_absent
    from {{ ref('int_student_attendance_school_year') }}
),

listed_days as (
    select
        student_key,
        school_year,
        calendar_date,
        absence
    from {{ ref('int_student_overlapping_school_days') }}
),

listed_students as (
    select distinct student_key
    from listed_days
),

district_days as (
    -- A student whose spans share a day: each day once, with its larger absence.
    select
        student_key,
        school_year,
        calendar_date,
        max(absence) as absence
    from listed_days
    group by
        student_key,
        school_year,
        calendar_date
),

from_listed_days as (
    select
        student_key,
        school_year,
        count(*) as days_enrolled,
        sum(absence) as days_absent
    from district_days
    group by
        student_key,
        school_year
),

from_school_years as (
    -- Everyone else: no day is in two spans, so the schools' counts add up.
    select
        school_years.student_key,
        school_years.school_year,
        cast(sum(school_years.days_enrolled) as {{ cast_to('bigint') }}) as days_enrolled,
        sum(school_years.days_absent) as days_absent
    from school_years
    left join listed_students
        on school_years.student_key = listed_students.student_key
    where listed_students.student_key is null
    group by
        school_years.student_key,
        school_years.school_year
),

per_student as (
    select
        student_key,
        school_year,
        days_enrolled,
        round(days_absent, 4) as days_absent
    from from_listed_days
    union all
    select
        student_key,
        school_year,
        days_enrolled,
        round(days_absent, 4) as days_absent
    from from_school_years
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
