-- The whole-child profile: one row per student and school year with every dim_student
-- column and the headline measure of each domain. Attendance is district level (all the
-- student's enrollments, int_student_attendance_district_year) and NULL when no
-- attendance was loaded for the student's school that year (an enrolled day without an
-- event would otherwise read as present); incidents and suspensions are 0 when discipline
-- data was loaded that year and the student has none, NULL when none was loaded.
-- readiness_status comes from mart_student_readiness. domains_with_data counts the seven
-- whole-child domains beyond enrollment and demographics (attendance, assessment,
-- coursework, behavior, programs, wellbeing, engagement) with data for the student that
-- year; for the exception-reporting feeds (attendance, behavior, programs) a feed that
-- reported for the student's school (attendance) or the district (behavior, programs)
-- that year counts. Grain: student_key x school_year.
with

students as (
    select * from {{ ref('dim_student') }}
),

attendance as (
    select
        student_key,
        school_year,
        days_enrolled,
        days_absent,
        attendance_rate,
        is_chronically_absent
    from {{ ref('int_student_attendance_district_year') }}
),

coverage as (
    select
        student_key,
        school_year,
        attendance_reported,
        behavior_reported,
        programs_reported
    from {{ ref('int_student_year_coverage') }}
),

assessment as (
    select
        student_key,
        school_year,
        ela_proficient,
        math_proficient
    from {{ ref('fct_student_assessment_year') }}
),

coursework as (
    select
        student_key,
        school_year,
        gpa,
        core_course_failures,
        any_course_failures,
        advanced_course_enrolled
    from {{ ref('fct_student_coursework_year') }}
),

behavior as (
    select
        student_key,
        school_year,
        incidents,
        suspensions
    from {{ ref('fct_student_behavior_year') }}
),

program_years as (
    select distinct
        student_key,
        school_year
    from {{ ref('fct_student_program_year') }}
),

wellbeing as (
    select
        student_key,
        school_year,
        wellbeing_score
    from {{ ref('fct_student_wellbeing_year') }}
),

engagement as (
    select
        student_key,
        school_year,
        engagement_rate
    from {{ ref('fct_student_engagement_year') }}
),

readiness as (
    select
        student_key,
        school_year,
        max(readiness_status) as readiness_status
    from {{ ref('mart_student_readiness') }}
    group by
        student_key,
        school_year
),

joined as (
    select
        students.*,
        attendance.days_enrolled,
        attendance.days_absent,
        attendance.attendance_rate,
        attendance.is_chronically_absent,
        assessment.ela_proficient,
        assessment.math_proficient,
        coursework.gpa,
        coursework.core_course_failures,
        coursework.any_course_failures,
        coursework.advanced_course_enrolled,
        behavior.incidents,
        behavior.suspensions,
        wellbeing.wellbeing_score,
        engagement.engagement_rate,
        readiness.readiness_status,
        coalesce(attendance.days_enrolled, 0) > 0
        and coalesce(coverage.attendance_reported, false) as has_attendance,
        coalesce(coverage.behavior_reported, false)
        or behavior.student_key is not null as has_behavior,
        coalesce(coverage.programs_reported, false)
        or program_years.student_key is not null as has_programs,
        assessment.student_key is not null as has_assessment,
        coursework.student_key is not null as has_coursework,
        wellbeing.student_key is not null as has_wellbeing,
        engagement.student_key is not null as has_engagement
    from students
    left join attendance
        on
            students.student_key = attendance.student_key
            and students.school_year = attendance.school_year
    left join coverage
        on
            students.student_key = coverage.student_key
            and students.school_year = coverage.school_year
    left join assessment
        on
            students.student_key = assessment.student_key
            and students.school_year = assessment.school_year
    left join coursework
        on
            students.student_key = coursework.student_key
            and students.school_year = coursework.school_year
    left join behavior
        on
            students.student_key = behavior.student_key
            and students.school_year = behavior.school_year
    left join program_years
        on
            students.student_key = program_years.student_key
            and students.school_year = program_years.school_year
    left join wellbeing
        on
            students.student_key = wellbeing.student_key
            and students.school_year = wellbeing.school_year
    left join engagement
        on
            students.student_key = engagement.student_key
            and students.school_year = engagement.school_year
    left join readiness
        on
            students.student_key = readiness.student_key
            and students.school_year = readiness.school_year
),

final as (
    select
        student_key,
        school_year,
        school_id,
        grade_level,
        schools_enrolled,
        race_ethnicity,
        sex,
        disability,
        disability_category,
        english_learner,
        economically_disadvantaged,
        homeless,
        foster_care,
        gifted,
        section_504,
        migrant,
        ela_proficient,
        math_proficient,
        gpa,
        core_course_failures,
        any_course_failures,
        advanced_course_enrolled,
        wellbeing_score,
        engagement_rate,
        case when has_attendance then days_enrolled end as days_enrolled,
        case when has_attendance then days_absent end as days_absent,
        case when has_attendance then attendance_rate end as attendance_rate,
        case when has_attendance then is_chronically_absent end as is_chronically_absent,
        cast(
            case when has_behavior then coalesce(incidents, 0) end as {{ cast_to('bigint') }}
        ) as incidents,
        cast(
            case when has_behavior then coalesce(suspensions, 0) end as {{ cast_to('bigint') }}
        ) as suspensions,
        case when has_behavior then coalesce(suspensions, 0) > 0 end as is_suspended,
        coalesce(readiness_status, 'no_data') as readiness_status,
        cast(
            case when has_attendance then 1 else 0 end
            + case when has_assessment then 1 else 0 end
            + case when has_coursework then 1 else 0 end
            + case when has_behavior then 1 else 0 end
            + case when has_programs then 1 else 0 end
            + case when has_wellbeing then 1 else 0 end
            + case when has_engagement then 1 else 0 end
            as {{ cast_to('bigint') }}
        ) as domains_with_data
    from joined
)

select * from final
