-- Readiness (early-warning "ABC" indicators, METRICS.md) per student, school year and
-- indicator: attendance, behavior, course_performance, assessment, and
-- ninth_grade_on_track for grade 09 only (no row otherwise). Each has a value, a status
-- (on_track / watch / off_track / no_data) and a plain-language reason. An indicator
-- whose domain has nothing for the student is no_data, never on_track. readiness_status
-- is the student's worst status among indicators with data (off_track > watch >
-- on_track), no_data only when every indicator lacks data.
-- Thresholds: var wholechild:readiness:gpa_floor (2.0); chronic absence from the
-- attendance vars; var wholechild:readiness:attendance_watch_rate (0.05),
-- behavior_watch_incidents (2), ninth_grade_min_credits (5),
-- ninth_grade_max_core_failures (1), with METRICS.md's values as defaults.
-- Grain: student_key x school_year x indicator.
{%- set gpa_floor = var('wholechild:readiness:gpa_floor') %}
{%- set attendance_watch = var('wholechild:readiness:attendance_watch_rate', 0.05) %}
{%- set behavior_watch = var('wholechild:readiness:behavior_watch_incidents', 2) %}
{%- set ninth_min_credits = var('wholechild:readiness:ninth_grade_min_credits', 5) %}
{%- set ninth_max_core_f = var('wholechild:readiness:ninth_grade_max_core_failures', 1) %}
with

students as (
    select
        student_key,
        school_year,
        grade_level
    from {{ ref('dim_student') }}
),

attendance as (
    select
        student_key,
        school_year,
        days_enrolled,
        days_absent,
        is_chronically_absent
    from {{ ref('int_student_attendance_district_year') }}
),

coverage as (
    select
        student_key,
        school_year,
        attendance_reported,
        behavior_reported
    from {{ ref('int_student_year_coverage') }}
),

behavior as (
    select
        student_key,
        school_year,
        incidents,
        suspensions
    from {{ ref('fct_student_behavior_year') }}
),

coursework as (
    select
        student_key,
        school_year,
        final_marks,
        gpa,
        core_course_failures,
        any_course_failures,
        credits_earned
    from {{ ref('fct_student_coursework_year') }}
),

assessment as (
    select
        student_key,
        school_year,
        ela_proficient,
        math_proficient
    from {{ ref('fct_student_assessment_year') }}
),

student_years as (
    select
        students.student_key,
        students.school_year,
        students.grade_level,
        attendance.days_enrolled,
        attendance.days_absent,
        attendance.is_chronically_absent,
        behavior.incidents,
        behavior.suspensions,
        coursework.gpa,
        coursework.core_course_failures,
        coursework.any_course_failures,
        coursework.credits_earned,
        assessment.ela_proficient,
        assessment.math_proficient,
        coalesce(attendance.days_enrolled, 0) > 0
        and coalesce(coverage.attendance_reported, false) as has_attendance,
        coalesce(coverage.behavior_reported, false)
        or behavior.student_key is not null as has_behavior,
        coalesce(coursework.final_marks, 0) > 0 as has_marks,
        case
            when attendance.days_enrolled > 0
                then {{ wholechild_stable('attendance.days_absent / attendance.days_enrolled') }}
        end as absence_rate,
        case when assessment.ela_proficient is not null then 1 else 0 end
        + case when assessment.math_proficient is not null then 1 else 0 end
            as subjects_known,
        case when assessment.ela_proficient then 1 else 0 end
        + case when assessment.math_proficient then 1 else 0 end
            as subjects_proficient
    from students
    left join attendance
        on
            students.student_key = attendance.student_key
            and students.school_year = attendance.school_year
    left join coverage
        on
            students.student_key = coverage.student_key
            and students.school_year = coverage.school_year
    left join behavior
        on
            students.student_key = behavior.student_key
            and students.school_year = behavior.school_year
    left join coursework
        on
            students.student_key = coursework.student_key
            and students.school_year = coursework.school_year
    left join assessment
        on
            students.student_key = assessment.student_key
            and students.school_year = assessment.school_year
),

attendance_indicator as (
    select
        student_key,
        school_year,
        'attendance' as indicator,
        case when has_attendance then absence_rate end as value,
        case
            when not has_attendance then 'no_data'
            when is_chronically_absent then 'off_track'
            when absence_rate >= {{ attendance_watch }} then 'watch'
            else 'on_track'
        end as status,
        case
            when coalesce(days_enrolled, 0) = 0
                then
                    'not enrolled on any instructional day this year, '
                    || 'so attendance cannot be judged'
            when not has_attendance
                then 'no attendance was loaded for the student''s school this year'
            when is_chronically_absent
                then
                    'chronically absent: missed '
                    || {{ wholechild_number_text('days_absent', 1) }} || ' of '
                    || cast(days_enrolled as {{ cast_to('string') }})
                    || ' enrolled days (' || {{ wholechild_percent_text('absence_rate') }} || ')'
            when absence_rate >= {{ attendance_watch }}
                then
                    'missed ' || {{ wholechild_number_text('days_absent', 1) }} || ' of '
                    || cast(days_enrolled as {{ cast_to('string') }})
                    || ' enrolled days (' || {{ wholechild_percent_text('absence_rate') }}
                    || '): at or above the '
                    || {{ wholechild_percent_text(attendance_watch) }} || ' watch line'
            else
                'missed ' || {{ wholechild_number_text('days_absent', 1) }} || ' of '
                || cast(days_enrolled as {{ cast_to('string') }})
                || ' enrolled days (' || {{ wholechild_percent_text('absence_rate') }}
                || '), under the ' || {{ wholechild_percent_text(attendance_watch) }}
                || ' watch line'
        end as reason
    from student_years
),

behavior_indicator as (
    select
        student_key,
        school_year,
        'behavior' as indicator,
        case when has_behavior then coalesce(incidents, 0) end as value,
        case
            when not has_behavior then 'no_data'
            when coalesce(suspensions, 0) >= 1 then 'off_track'
            when coalesce(incidents, 0) >= {{ behavior_watch }} then 'watch'
            else 'on_track'
        end as status,
        case
            when not has_behavior
                then 'no discipline data was loaded for this school year'
            when coalesce(suspensions, 0) >= 1
                then
                    cast(suspensions as {{ cast_to('string') }})
                    || ' suspension or expulsion action(s) this year, in '
                    || cast(incidents as {{ cast_to('string') }}) || ' incident(s)'
            when coalesce(incidents, 0) >= {{ behavior_watch }}
                then
                    cast(incidents as {{ cast_to('string') }})
                    || ' discipline incidents this year (watch at '
                    || cast({{ behavior_watch }} as {{ cast_to('string') }})
                    || ' or more), no suspension'
            when coalesce(incidents, 0) = 0 then 'no discipline incidents this year'
            else
                cast(incidents as {{ cast_to('string') }})
                || ' discipline incident this year, no suspension'
        end as reason
    from student_years
),

course_indicator as (
    select
        student_key,
        school_year,
        'course_performance' as indicator,
        case when has_marks then gpa end as value,
        case
            when not has_marks then 'no_data'
            when core_course_failures >= 1 or gpa < {{ gpa_floor }} then 'off_track'
            when any_course_failures >= 1 then 'watch'
            else 'on_track'
        end as status,
        case
            when not has_marks then 'no final course marks this year'
            when core_course_failures >= 1 and gpa < {{ gpa_floor }}
                then
                    cast(core_course_failures as {{ cast_to('string') }})
                    || ' failing mark(s) in core courses and a GPA of '
                    || {{ wholechild_number_text('gpa', 2) }} || ', below '
                    || {{ wholechild_number_text(gpa_floor, 1) }}
            when core_course_failures >= 1
                then
                    cast(core_course_failures as {{ cast_to('string') }})
                    || ' failing mark(s) in core courses (ELA, math, science, social studies)'
            when gpa < {{ gpa_floor }}
                then
                    'GPA of ' || {{ wholechild_number_text('gpa', 2) }} || ', below '
                    || {{ wholechild_number_text(gpa_floor, 1) }}
            when any_course_failures >= 1
                then
                    cast(any_course_failures as {{ cast_to('string') }})
                    || ' failing mark(s) in non-core courses'
            else
                'no failing final marks; GPA of '
                || coalesce({{ wholechild_number_text('gpa', 2) }}, 'unknown (no grade points)')
        end as reason
    from student_years
),

assessment_indicator as (
    select
        student_key,
        school_year,
        'assessment' as indicator,
        case when subjects_known > 0 then subjects_proficient end as value,
        case
            when subjects_known = 0 then 'no_data'
            when subjects_proficient = 0 then 'off_track'
            when subjects_proficient < subjects_known then 'watch'
            else 'on_track'
        end as status,
        case
            when subjects_known = 0
                then 'no ELA or math result with a proficiency level this year'
            when subjects_known = 2 and subjects_proficient = 0
                then 'not proficient in ELA or math'
            when subjects_known = 2 and subjects_proficient = 2 then 'proficient in ELA and math'
            when subjects_known = 2 and ela_proficient then 'proficient in ELA but not in math'
            when subjects_known = 2 then 'proficient in math but not in ELA'
            when ela_proficient is not null
                then
                    case when ela_proficient then 'proficient' else 'not proficient' end
                    || ' in ELA; no math result with a proficiency level'
            else
                case when math_proficient then 'proficient' else 'not proficient' end
                || ' in math; no ELA result with a proficiency level'
        end as reason
    from student_years
),

ninth_grade_indicator as (
    select
        student_key,
        school_year,
        'ninth_grade_on_track' as indicator,
        case when has_marks then credits_earned end as value,
        case
            when not has_marks then 'no_data'
            when
                credits_earned < {{ ninth_min_credits }}
                or core_course_failures > {{ ninth_max_core_f }}
                then 'off_track'
            when credits_earned is null then 'no_data'
            else 'on_track'
        end as status,
        case
            when not has_marks then 'no final course marks this year'
            when
                credits_earned < {{ ninth_min_credits }}
                and core_course_failures > {{ ninth_max_core_f }}
                then
                    {{ wholechild_number_text('credits_earned', 1) }}
                    || ' credits earned (fewer than '
                    || cast({{ ninth_min_credits }} as {{ cast_to('string') }}) || ') and '
                    || cast(core_course_failures as {{ cast_to('string') }})
                    || ' semester F(s) in core courses'
            when credits_earned < {{ ninth_min_credits }}
                then
                    {{ wholechild_number_text('credits_earned', 1) }}
                    || ' credits earned, fewer than '
                    || cast({{ ninth_min_credits }} as {{ cast_to('string') }})
            when core_course_failures > {{ ninth_max_core_f }}
                then
                    cast(core_course_failures as {{ cast_to('string') }})
                    || ' semester F(s) in core courses, more than '
                    || cast({{ ninth_max_core_f }} as {{ cast_to('string') }})
            when credits_earned is null
                then 'final marks carry no credits earned, so the credit rule cannot be judged'
            else
                {{ wholechild_number_text('credits_earned', 1) }} || ' credits earned and '
                || cast(core_course_failures as {{ cast_to('string') }})
                || ' semester F(s) in core courses'
        end as reason
    from student_years
    where grade_level = '09'
),

indicators as (
    select * from attendance_indicator
    union all
    select * from behavior_indicator
    union all
    select * from course_indicator
    union all
    select * from assessment_indicator
    union all
    select * from ninth_grade_indicator
),

ranked as (
    select
        student_key,
        school_year,
        indicator,
        value,
        status,
        reason,
        max(
            case status
                when 'off_track' then 3
                when 'watch' then 2
                when 'on_track' then 1
                else 0
            end
        ) over (partition by student_key, school_year) as worst_rank
    from indicators
),

final as (
    select
        student_key,
        indicator,
        status,
        reason,
        cast(school_year as {{ cast_to('bigint') }}) as school_year,
        cast(value as {{ cast_to('double') }}) as value,
        case worst_rank
            when 3 then 'off_track'
            when 2 then 'watch'
            when 1 then 'on_track'
            else 'no_data'
        end as readiness_status
    from ranked
)

select * from final
