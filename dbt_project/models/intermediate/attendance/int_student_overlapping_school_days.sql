-- int_student_school_days for the students two of whose enrollment spans share a day (a
-- transfer day at two schools, or two school years' records at one school): their days
-- are listed so a shared day counts once (at district level with the larger absence).
-- A few students; everyone else's days are counted per span without listing them
-- (int_student_attendance_school_year).
with

all_spans as (
    select
        student_key,
        school_id,
        school_year,
        entry_date,
        exit_date
    from {{ ref('int_enrollment_spans') }}
),

{{ attendance_overlapping_students('all_spans') }},

spans as (
    select
        all_spans.student_key,
        all_spans.school_id,
        all_spans.entry_date,
        all_spans.exit_date
    from all_spans
    inner join overlapping_students
        on all_spans.student_key = overlapping_students.student_key
),

{{ attendance_day_inputs() }},

{{ attendance_school_days('spans') }}

select * from school_days
