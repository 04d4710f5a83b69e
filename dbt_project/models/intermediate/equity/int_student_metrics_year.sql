-- Every binary equity metric of METRICS.md ("Equity gaps") per student, scope and school
-- year: one row for the district (school_id NULL) and one per school the student was
-- enrolled at that year (int_enrollment_spans), with the student's subgroup codes
-- (dim_student, through the profile) and one boolean per metric that is NULL where the
-- student is outside the metric's population:
--   chronically_absent: students meeting var wholechild:attendance:chronic_min_days.
--     District: over all the student's enrollments (the profile). School: at that school
--     (fct_student_attendance_year, EDFacts). NULL where no attendance was loaded for the
--     school (or, district, any of the student's schools) that year: a day without an
--     event would read as present.
--   ela_proficient / math_proficient: students with a result in the subject that year
--     (the latest with a known is_proficient).
--   suspended: enrolled students, when discipline data was loaded for the district that
--     year (as the profile's is_suspended: no data is not "never suspended").
--   off_track: students whose readiness_status is not no_data; true when off_track.
--   advanced_course_enrolled: students in grades 09-12 (school scope: the grade at that
--     school); true with at least one advanced section (AP, IB, dual enrollment, honors)
--     that year (school scope: at that school).
--   taught_by_inexperienced_teacher: students with a section whose teacher's experience
--     is known (school scope: a section at that school); true with at least one such
--     section taught by a teacher with fewer years than var
--     wholechild:equity:inexperienced_teacher_years.
--   gifted_identified: all enrolled students; true when identified gifted.
-- Assessment, discipline, readiness and gifted identification are facts of the student's
-- year, not of one school: at school scope the student's year value counts at every
-- school they were enrolled at (METRICS.md: school scope counts a student at each school
-- enrolled). Grain: student_key x scope x school_id x school_year.
with

profile as (
    select
        student_key,
        school_year,
        grade_level,
        race_ethnicity,
        sex,
        disability,
        english_learner,
        economically_disadvantaged,
        homeless,
        foster_care,
        gifted,
        is_chronically_absent,
        ela_proficient,
        math_proficient,
        is_suspended,
        readiness_status
    from {{ ref('mart_whole_child_profile') }}
),

enrollment_spans as (
    select
        student_key,
        school_id,
        school_year,
        entry_date,
        exit_date,
        grade_level
    from {{ ref('int_enrollment_spans') }}
),

school_attendance as (
    select
        student_key,
        school_id,
        school_year,
        is_chronically_absent
    from {{ ref('fct_student_attendance_year') }}
),

attendance_events as (
    select
        source,
        student_ref,
        school_id,
        event_date
    from {{ ref('stg_attendance_event') }}
),

attendance_identity as (
    select
        source,
        student_ref
    from {{ ref('int_student_identity') }}
    where
        entity = 'attendance_event'
        and is_matched
),

sections as (
    select
        student_key,
        school_id,
        school_year,
        is_advanced,
        teacher_experience_known,
        taught_by_inexperienced_teacher
    from {{ ref('int_student_sections') }}
),

attendance_reported as (
    -- Schools and years with matched attendance events loaded (as int_student_year_coverage).
    select distinct
        attendance_events.school_id,
        {{ school_year_of('attendance_events.event_date') }} as school_year
    from attendance_events
    inner join attendance_identity
        on
            attendance_events.source = attendance_identity.source
            and attendance_events.student_ref = attendance_identity.student_ref
),

school_grades as (
    -- The grade of the student's latest span at each school that year.
    select
        student_key,
        school_id,
        school_year,
        grade_level,
        row_number() over (
            partition by student_key, school_id, school_year
            order by
                entry_date desc,
                coalesce(exit_date, cast('9999-12-31' as {{ cast_to('date') }})) desc,
                grade_level desc
        ) as recency
    from enrollment_spans
),

district_sections as (
    select
        student_key,
        school_year,
        max(case when is_advanced then 1 else 0 end) as advanced_flag,
        max(case when teacher_experience_known then 1 else 0 end) as known_flag,
        max(
            case
                when teacher_experience_known and taught_by_inexperienced_teacher then 1
                else 0
            end
        ) as inexperienced_flag
    from sections
    group by
        student_key,
        school_year
),

school_sections as (
    select
        student_key,
        school_id,
        school_year,
        max(case when is_advanced then 1 else 0 end) as advanced_flag,
        max(case when teacher_experience_known then 1 else 0 end) as known_flag,
        max(
            case
                when teacher_experience_known and taught_by_inexperienced_teacher then 1
                else 0
            end
        ) as inexperienced_flag
    from sections
    group by
        student_key,
        school_id,
        school_year
),

district_rows as (
    select
        profile.student_key,
        profile.school_year,
        'district' as scope,
        cast(null as {{ cast_to('string') }}) as school_id,
        profile.grade_level,
        profile.is_chronically_absent as chronically_absent,
        district_sections.advanced_flag,
        district_sections.known_flag,
        district_sections.inexperienced_flag
    from profile
    left join district_sections
        on
            profile.student_key = district_sections.student_key
            and profile.school_year = district_sections.school_year
),

school_rows as (
    select
        school_grades.student_key,
        school_grades.school_year,
        'school' as scope,
        school_grades.school_id,
        school_grades.grade_level,
        case
            when attendance_reported.school_id is not null
                then school_attendance.is_chronically_absent
        end as chronically_absent,
        school_sections.advanced_flag,
        school_sections.known_flag,
        school_sections.inexperienced_flag
    from school_grades
    left join school_attendance
        on
            school_grades.student_key = school_attendance.student_key
            and school_grades.school_id = school_attendance.school_id
            and school_grades.school_year = school_attendance.school_year
    left join attendance_reported
        on
            school_grades.school_id = attendance_reported.school_id
            and school_grades.school_year = attendance_reported.school_year
    left join school_sections
        on
            school_grades.student_key = school_sections.student_key
            and school_grades.school_id = school_sections.school_id
            and school_grades.school_year = school_sections.school_year
    where school_grades.recency = 1
),

scoped as (
    select * from district_rows
    union all
    select * from school_rows
),

final as (
    select
        scoped.student_key,
        cast(scoped.school_year as {{ cast_to('bigint') }}) as school_year,
        cast(scoped.scope as {{ cast_to('string') }}) as scope,
        scoped.school_id,
        scoped.grade_level,
        profile.race_ethnicity,
        profile.sex,
        profile.disability,
        profile.english_learner,
        profile.economically_disadvantaged,
        profile.homeless,
        profile.foster_care,
        scoped.chronically_absent,
        profile.ela_proficient,
        profile.math_proficient,
        profile.is_suspended as suspended,
        case
            when profile.readiness_status <> 'no_data'
                then profile.readiness_status = 'off_track'
        end as off_track,
        case
            when scoped.grade_level in ('09', '10', '11', '12')
                then coalesce(scoped.advanced_flag, 0) = 1
        end as advanced_course_enrolled,
        case
            when scoped.known_flag = 1 then scoped.inexperienced_flag = 1
        end as taught_by_inexperienced_teacher,
        profile.gifted = 'yes' as gifted_identified
    from scoped
    inner join profile
        on
            scoped.student_key = profile.student_key
            and scoped.school_year = profile.school_year
)

select * from final
