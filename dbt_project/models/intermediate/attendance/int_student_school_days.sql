-- One row per student, school and instructional day the student is enrolled there, with
-- the day's absence (METRICS.md, "Enrollment and the school calendar" and "Attendance and
-- chronic absenteeism"). Days come from joining the merged spans to the school's own
-- calendar, never from a date spine, so no engine-specific series function is needed.
--
-- A view: a student's calendar for analysts and the unit tests that pin the per-day
-- rules (macros/attendance_days.sql). The attendance counts do not read it: a student x
-- day grid is 3.5x all input rows (16.9 M rows at 100,000 students), so
-- int_student_attendance_school_year counts enrolled days per span instead and builds
-- days only for students whose spans overlap (int_student_overlapping_school_days).
{{ config(materialized='view') }}

with

spans as (
    select
        student_key,
        school_id,
        entry_date,
        exit_date
    from {{ ref('int_enrollment_spans') }}
),

{{ attendance_day_inputs() }},

{{ attendance_school_days('spans') }}

select * from school_days
