{#-
    The day-level attendance logic of METRICS.md ("Enrollment and the school calendar",
    "Attendance and chronic absenteeism"), shared by the models that need it, so the
    per-day rules live in one place. Each macro renders CTE definitions (comma-separated,
    without the leading `with`) for a model to place among its own; portable SQL only.

    attendance_day_inputs(): the CTEs every attendance model starts from
      calendar     a school's instructional days (stg_calendar_day, is_instructional),
                   one school year per day: the calendar's, else derived from the date
      day_absence  per matched student, school and event date, the day's absent share:
                   the largest of its events' absences, at most 1 (before the
                   partial-day rule)
      as_of        one row, as_of_date: var wholechild:attendance:as_of, else the last
                   instructional day with loaded attendance (any school, any student),
                   else the last calendar day

    attendance_school_days(spans): given a CTE `spans` (student_key, school_id,
      entry_date, exit_date), the CTEs enrolled_days and school_days: one row per
      student, school and instructional day inside a span (entry and exit inclusive; an
      open span runs to the as-of date; nothing after it), with the day's absence under
      var wholechild:attendance:partial_day_rule (0 on a day without an event).
      Needs attendance_day_inputs() before it.

    attendance_overlapping_students(spans): given a CTE `spans` of int_enrollment_spans'
      columns, the CTE overlapping_students: the students two of whose spans share a day
      (at two schools, e.g. the day of a transfer, or at one school in two school years'
      records). Their days must be listed to count a shared day once; everyone else's
      days are counted per span (int_student_attendance_school_year).
-#}
{% macro attendance_day_inputs() -%}
{%- set as_of = var('wholechild:attendance:as_of', none) -%}
calendar as (
    -- A school's instructional days; its school year from the calendar, else the date.
    select
        school_id,
        calendar_date,
        max(
            coalesce(school_year, {{ school_year_of('calendar_date') }})
        ) as school_year
    from {{ ref('stg_calendar_day') }}
    where is_instructional
    group by
        school_id,
        calendar_date
),

attendance_identity as (
    select
        source,
        student_ref,
        student_key
    from {{ ref('int_student_identity') }}
    where
        entity = 'attendance_event'
        and is_matched
),

events as (
    -- Each event's absence (METRICS.md): its absent_fraction when the source gives one,
    -- else 1 for a full-day absence and 0.5 for a partial day or early departure;
    -- present and tardy always 0. Capped at 1.
    select
        attendance_identity.student_key,
        attendance.school_id,
        attendance.event_date,
        case
            when attendance.category in ('excused_absence', 'unexcused_absence')
                then coalesce(attendance.absent_fraction, 1)
            when attendance.category in ('partial', 'early_departure')
                then coalesce(attendance.absent_fraction, 0.5)
            else 0
        end as event_absence
    from {{ ref('stg_attendance_event') }} as attendance
    inner join attendance_identity
        on
            attendance.source = attendance_identity.source
            and attendance.student_ref = attendance_identity.student_ref
),

day_absence as (
    -- A day's absence is the largest of its events' absences, at most 1.
    select
        student_key,
        school_id,
        event_date,
        least(max(event_absence), 1) as absent_share
    from events
    group by
        student_key,
        school_id,
        event_date
),

{% if as_of %}
as_of as (
    -- Set by var wholechild:attendance:as_of.
    select cast('{{ as_of }}' as date) as as_of_date
)
{%- else %}
loaded_day as (
    -- The last instructional day with loaded attendance (any school, any student).
    select max(calendar.calendar_date) as last_loaded_day
    from calendar
    inner join {{ ref('stg_attendance_event') }} as attendance
        on
            calendar.school_id = attendance.school_id
            and calendar.calendar_date = attendance.event_date
),

calendar_end as (
    select max(calendar_date) as last_calendar_day
    from {{ ref('stg_calendar_day') }}
),

as_of as (
    -- var wholechild:attendance:as_of unset: the last instructional day with loaded
    -- attendance, else the last calendar day.
    select coalesce(loaded_day.last_loaded_day, calendar_end.last_calendar_day) as as_of_date
    from loaded_day
    cross join calendar_end
)
{%- endif %}
{%- endmacro %}


{% macro attendance_school_days(spans) -%}
enrolled_days as (
    -- Every instructional day of the school's calendar within a span (entry and exit
    -- inclusive; an open span runs to the as-of date; nothing after the as-of date).
    -- Spans of one student and school never overlap, but distinct keeps a day once even
    -- if two school years' records did.
    select distinct
        {{ spans }}.student_key,
        {{ spans }}.school_id,
        calendar.school_year,
        calendar.calendar_date,
        as_of.as_of_date
    from {{ spans }}
    inner join calendar
        on
            {{ spans }}.school_id = calendar.school_id
            and {{ spans }}.entry_date <= calendar.calendar_date
            and ({{ spans }}.exit_date is null or {{ spans }}.exit_date >= calendar.calendar_date)
    cross join as_of
    where calendar.calendar_date <= as_of.as_of_date
),

school_days as (
    -- Events on days the student is not enrolled there, or that are not instructional,
    -- find no enrolled day and do not count; a day without an event counts present.
    select
        enrolled_days.student_key,
        enrolled_days.school_id,
        enrolled_days.school_year,
        enrolled_days.calendar_date,
        {{ attendance_day_absence('coalesce(day_absence.absent_share, 0)') }} as absence,
        enrolled_days.as_of_date
    from enrolled_days
    left join day_absence
        on
            enrolled_days.student_key = day_absence.student_key
            and enrolled_days.school_id = day_absence.school_id
            and enrolled_days.calendar_date = day_absence.event_date
)
{%- endmacro %}


{% macro attendance_overlapping_students(spans) -%}
numbered_spans as (
    select
        student_key,
        entry_date,
        coalesce(exit_date, cast('9999-12-31' as date)) as exit_or_open,
        row_number() over (
            partition by student_key
            order by school_id, school_year, entry_date, exit_date
        ) as span_number
    from {{ spans }}
),

overlapping_students as (
    select distinct first_span.student_key
    from numbered_spans as first_span
    inner join numbered_spans as other_span
        on
            first_span.student_key = other_span.student_key
            and first_span.span_number < other_span.span_number
            and first_span.entry_date <= other_span.exit_or_open
            and other_span.entry_date <= first_span.exit_or_open
)
{%- endmacro %}
