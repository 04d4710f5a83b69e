-- Which exception-reporting feeds cover each enrolled student and school year. Attendance,
-- discipline and program sources send exceptions (absences, incidents, participations),
-- so a student without rows is not a student without data only when the feed reported
-- for them: attendance when matched attendance events were loaded for one of the
-- student's schools that school year; behavior when matched discipline incidents were
-- loaded for that school year anywhere in the district (incidents need not name a
-- school); programs when matched participations overlapping that year's enrollments were
-- loaded. Readiness uses it to say no_data instead of on_track when a feed is missing.
-- Grain: student_key x school_year (the enrolled student years of int_enrollment_spans).
with

enrollment_spans as (
    select
        student_key,
        school_id,
        school_year,
        entry_date,
        exit_date
    from {{ ref('int_enrollment_spans') }}
),

identity as (
    select
        source,
        entity,
        student_ref,
        student_key
    from {{ ref('int_student_identity') }}
    where is_matched
),

attendance_events as (
    select
        source,
        student_ref,
        school_id,
        event_date
    from {{ ref('stg_attendance_event') }}
),

incidents as (
    select
        source,
        student_ref,
        incident_date
    from {{ ref('stg_discipline_incident') }}
),

participation as (
    select
        source,
        student_ref,
        begin_date,
        end_date
    from {{ ref('stg_program_participation') }}
),

attendance_school_years as (
    select distinct
        attendance_events.school_id,
        {{ school_year_of('attendance_events.event_date') }} as school_year
    from attendance_events
    inner join identity
        on
            attendance_events.source = identity.source
            and attendance_events.student_ref = identity.student_ref
            and identity.entity = 'attendance_event'
),

behavior_school_years as (
    select distinct {{ school_year_of('incidents.incident_date') }} as school_year
    from incidents
    inner join identity
        on
            incidents.source = identity.source
            and incidents.student_ref = identity.student_ref
            and identity.entity = 'discipline_incident'
),

program_school_years as (
    select distinct enrollment_spans.school_year
    from participation
    inner join identity
        on
            participation.source = identity.source
            and participation.student_ref = identity.student_ref
            and identity.entity = 'program_participation'
    inner join enrollment_spans
        on
            identity.student_key = enrollment_spans.student_key
            and participation.begin_date
            <= coalesce(enrollment_spans.exit_date, cast('9999-12-31' as {{ cast_to('date') }}))
            and coalesce(participation.end_date, cast('9999-12-31' as {{ cast_to('date') }}))
            >= enrollment_spans.entry_date
),

student_schools as (
    select
        enrollment_spans.student_key,
        enrollment_spans.school_year,
        max(
            case when attendance_school_years.school_id is not null then 1 else 0 end
        ) as attendance_flag
    from enrollment_spans
    left join attendance_school_years
        on
            enrollment_spans.school_id = attendance_school_years.school_id
            and enrollment_spans.school_year = attendance_school_years.school_year
    group by
        enrollment_spans.student_key,
        enrollment_spans.school_year
),

final as (
    select
        student_schools.student_key,
        cast(student_schools.school_year as {{ cast_to('bigint') }}) as school_year,
        student_schools.attendance_flag = 1 as attendance_reported,
        behavior_school_years.school_year is not null as behavior_reported,
        program_school_years.school_year is not null as programs_reported
    from student_schools
    left join behavior_school_years
        on student_schools.school_year = behavior_school_years.school_year
    left join program_school_years
        on student_schools.school_year = program_school_years.school_year
)

select * from final
