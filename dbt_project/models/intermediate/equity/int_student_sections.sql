-- The sections a student took each school year, with what the equity metrics need of
-- them (METRICS.md "Opportunity metrics"): whether the section is advanced (AP, IB, dual
-- enrollment or honors) and whether its teacher's experience is known and under var
-- wholechild:equity:inexperienced_teacher_years (ESSA 1111(g)(1)(B)). A section's
-- teachers are the section enrollment's teacher_id, else every teacher staff_assignment
-- lists for the section_id (co-teaching). A teacher's experience is the largest
-- years_experience of their staff_assignment rows (one teacher, one career: rows that
-- disagree are a source error, and the larger never calls an experienced teacher new).
-- The school year is the one of the section's begin date (else end date), else the
-- student's latest enrolled year, as in fct_student_coursework_year. Matched students
-- only. Grain: student_key x school_id x school_year x section_id.
{%- set novice_years = var('wholechild:equity:inexperienced_teacher_years') %}
with

sections as (
    select
        source,
        student_ref,
        section_id,
        school_id,
        is_advanced,
        teacher_id,
        begin_date,
        end_date
    from {{ ref('stg_section_enrollment') }}
),

staff as (
    select
        teacher_id,
        section_id,
        years_experience
    from {{ ref('stg_staff_assignment') }}
),

identity as (
    {{ wholechild_matched_students('section_enrollment') }}
),

latest_enrolled_year as (
    select
        student_key,
        max(school_year) as school_year
    from {{ ref('int_enrollment_spans') }}
    group by student_key
),

teacher_experience as (
    select
        teacher_id,
        max(years_experience) as years_experience
    from staff
    group by teacher_id
),

section_staff as (
    -- Teachers staff_assignment lists for a section (used when the section enrollment
    -- names none).
    select distinct
        section_id,
        teacher_id
    from staff
    where section_id is not null
),

matched as (
    select
        identity.student_key,
        sections.section_id,
        sections.school_id,
        sections.teacher_id,
        coalesce(sections.is_advanced, false) as is_advanced,
        coalesce(
            {{ school_year_of('coalesce(sections.begin_date, sections.end_date)') }},
            latest_enrolled_year.school_year
        ) as school_year
    from sections
    inner join identity
        on
            sections.source = identity.source
            and sections.student_ref = identity.student_ref
    left join latest_enrolled_year
        on identity.student_key = latest_enrolled_year.student_key
),

section_teachers as (
    select
        matched.student_key,
        matched.section_id,
        matched.school_id,
        matched.school_year,
        matched.is_advanced,
        coalesce(matched.teacher_id, section_staff.teacher_id) as teacher_id
    from matched
    left join section_staff
        on
            matched.section_id = section_staff.section_id
            and matched.teacher_id is null
),

with_experience as (
    select
        section_teachers.student_key,
        section_teachers.section_id,
        section_teachers.school_id,
        section_teachers.school_year,
        section_teachers.is_advanced,
        teacher_experience.years_experience
    from section_teachers
    left join teacher_experience
        on section_teachers.teacher_id = teacher_experience.teacher_id
),

per_section as (
    select
        student_key,
        school_id,
        school_year,
        section_id,
        max(case when is_advanced then 1 else 0 end) as advanced_flag,
        max(case when years_experience is not null then 1 else 0 end) as known_flag,
        max(
            case when years_experience < {{ novice_years }} then 1 else 0 end
        ) as inexperienced_flag,
        min(years_experience) as least_teacher_experience
    from with_experience
    where school_year is not null
    group by
        student_key,
        school_id,
        school_year,
        section_id
),

final as (
    select
        student_key,
        school_id,
        cast(school_year as {{ cast_to('bigint') }}) as school_year,
        section_id,
        advanced_flag = 1 as is_advanced,
        known_flag = 1 as teacher_experience_known,
        inexperienced_flag = 1 as taught_by_inexperienced_teacher,
        cast(least_teacher_experience as {{ cast_to('double') }}) as least_teacher_experience
    from per_section
)

select * from final
