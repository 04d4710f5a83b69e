-- Enrolled days and absences per student, school and school year (METRICS.md,
-- "Enrollment and the school calendar", "Attendance and chronic absenteeism"), before the
-- rules' rounding and flags (fct_student_attendance_year, int_student_attendance_district_year).
-- The same days as int_student_school_days, counted instead of listed: a span's enrolled
-- days are the school's instructional days through its last day minus those before its
-- entry (a running count over the school's calendar), and only days with an event can be
-- absent. That holds while a day lies in one span of the student; the students whose
-- spans share a day are taken from their listed days (int_student_overlapping_school_days).
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

listed_days as (
    select
        student_key,
        school_id,
        school_year,
        calendar_date,
        absence,
        as_of_date
    from {{ ref('int_student_overlapping_school_days') }}
),

{{ attendance_overlapping_students('all_spans') }},

{{ attendance_day_inputs() }},

spans as (
    -- The other students' spans, each cut at the as-of date (an open span runs to it).
    select
        all_spans.student_key,
        all_spans.school_id,
        all_spans.entry_date,
        case
            when all_spans.exit_date is null or all_spans.exit_date > as_of.as_of_date
                then as_of.as_of_date
            else all_spans.exit_date
        end as last_date
    from all_spans
    cross join as_of
    left join overlapping_students
        on all_spans.student_key = overlapping_students.student_key
    where overlapping_students.student_key is null
),

numbered_days as (
    -- The n-th instructional day of the school's school year.
    select
        school_id,
        school_year,
        calendar_date,
        row_number() over (
            partition by school_id, school_year
            order by calendar_date
        ) as day_number
    from calendar
),

school_years as (
    select distinct
        school_id,
        school_year
    from calendar
),

span_years as (
    -- A span once per school year of its school's calendar (a day's year is the
    -- calendar's, as in int_student_school_days).
    select
        spans.student_key,
        spans.school_id,
        school_years.school_year,
        spans.entry_date,
        spans.last_date
    from spans
    inner join school_years
        on spans.school_id = school_years.school_id
    where spans.entry_date <= spans.last_date
),

marks as (
    -- The school's days and the spans' bounds in one order: an entry sorts before a day
    -- of the same date, a last date after it.
    select
        school_id,
        school_year,
        calendar_date as mark_date,
        1 as mark_order,
        1 as is_day,
        cast(null as {{ cast_to('string') }}) as student_key,
        cast(null as date) as entry_date
    from numbered_days
    union all
    select
        school_id,
        school_year,
        entry_date as mark_date,
        0 as mark_order,
        0 as is_day,
        student_key,
        entry_date
    from span_years
    union all
    select
        school_id,
        school_year,
        last_date as mark_date,
        2 as mark_order,
        0 as is_day,
        student_key,
        entry_date
    from span_years
),

running as (
    select
        school_id,
        school_year,
        student_key,
        entry_date,
        mark_order,
        sum(is_day) over (
            partition by school_id, school_year
            order by mark_date, mark_order
            rows between unbounded preceding and current row
        ) as days_so_far
    from marks
),

span_counts as (
    -- Days of the span in the year: the days through its last date minus those before
    -- its entry.
    select
        student_key,
        school_id,
        school_year,
        entry_date,
        max(case when mark_order = 0 then days_so_far end) as days_before_entry,
        max(case when mark_order = 2 then days_so_far end) as days_through_last
    from running
    where mark_order <> 1
    group by
        student_key,
        school_id,
        school_year,
        entry_date
),

counted_spans as (
    select
        span_counts.student_key,
        span_counts.school_id,
        span_counts.school_year,
        first_day.calendar_date as first_day_enrolled,
        last_day.calendar_date as last_day_enrolled,
        span_counts.days_through_last - span_counts.days_before_entry as days_enrolled
    from span_counts
    inner join numbered_days as first_day
        on
            span_counts.school_id = first_day.school_id
            and span_counts.school_year = first_day.school_year
            and span_counts.days_before_entry + 1 = first_day.day_number
    inner join numbered_days as last_day
        on
            span_counts.school_id = last_day.school_id
            and span_counts.school_year = last_day.school_year
            and span_counts.days_through_last = last_day.day_number
    where span_counts.days_through_last > span_counts.days_before_entry
),

counted_absences as (
    -- A day without an event counts present (0): only event days on an enrolled
    -- instructional day of the school add absence.
    select
        spans.student_key,
        spans.school_id,
        calendar.school_year,
        sum(
            {{ attendance_day_absence('coalesce(day_absence.absent_share, 0)') }}
        ) as days_absent
    from day_absence
    inner join calendar
        on
            day_absence.school_id = calendar.school_id
            and day_absence.event_date = calendar.calendar_date
    inner join spans
        on
            day_absence.student_key = spans.student_key
            and day_absence.school_id = spans.school_id
            and day_absence.event_date >= spans.entry_date
            and day_absence.event_date <= spans.last_date
    group by
        spans.student_key,
        spans.school_id,
        calendar.school_year
),

counted as (
    select
        counted_spans.student_key,
        counted_spans.school_id,
        counted_spans.school_year,
        sum(counted_spans.days_enrolled) as days_enrolled,
        min(counted_spans.first_day_enrolled) as first_day_enrolled,
        max(counted_spans.last_day_enrolled) as last_day_enrolled
    from counted_spans
    group by
        counted_spans.student_key,
        counted_spans.school_id,
        counted_spans.school_year
),

from_counts as (
    select
        counted.student_key,
        counted.school_id,
        counted.school_year,
        counted.days_enrolled,
        counted.first_day_enrolled,
        counted.last_day_enrolled,
        as_of.as_of_date,
        coalesce(counted_absences.days_absent, 0) as days_absent
    from counted
    cross join as_of
    left join counted_absences
        on
            counted.student_key = counted_absences.student_key
            and counted.school_id = counted_absences.school_id
            and counted.school_year = counted_absences.school_year
),

from_listed_days as (
    select
        student_key,
        school_id,
        school_year,
        count(*) as days_enrolled,
        sum(absence) as days_absent,
        min(calendar_date) as first_day_enrolled,
        max(calendar_date) as last_day_enrolled,
        max(as_of_date) as as_of_date
    from listed_days
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
        cast({{ wholechild_stable('days_absent') }} as {{ cast_to('double') }}) as days_absent,
        first_day_enrolled,
        last_day_enrolled,
        as_of_date
    from from_counts
    union all
    select
        student_key,
        school_id,
        school_year,
        cast(days_enrolled as {{ cast_to('bigint') }}) as days_enrolled,
        cast({{ wholechild_stable('days_absent') }} as {{ cast_to('double') }}) as days_absent,
        first_day_enrolled,
        last_day_enrolled,
        as_of_date
    from from_listed_days
)

select * from final
