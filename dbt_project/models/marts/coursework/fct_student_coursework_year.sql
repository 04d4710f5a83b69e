-- Coursework per student and school year: GPA and failures from final course marks, and
-- advanced-course enrollment from section enrollments. A mark counts when it is final
-- (mark_type NULL counts as final; an interim mark never counts, CANONICAL.md). GPA is
-- the credit-weighted mean of the final marks' grade points (METRICS.md), a mark without
-- credits_attempted weighing 1. A mark or section without a school year counts in the
-- student's latest enrolled school year. Unmatched students' rows are left out
-- (mart_unmatched_records). Grain: student_key x school_year.
with

marks as (
    select
        source,
        student_ref,
        subject_area,
        is_failing,
        mark_type,
        grade_points,
        credits_attempted,
        credits_earned,
        school_year
    from {{ ref('stg_course_mark') }}
),

sections as (
    select
        source,
        student_ref,
        section_id,
        is_advanced,
        begin_date,
        end_date
    from {{ ref('stg_section_enrollment') }}
),

identity as (
    {{ wholechild_matched_students(['course_mark', 'section_enrollment']) }}
),

latest_enrolled_year as (
    select
        student_key,
        max(school_year) as school_year
    from {{ ref('int_enrollment_spans') }}
    group by student_key
),

final_marks as (
    select
        identity.student_key,
        marks.subject_area,
        marks.is_failing,
        marks.grade_points,
        marks.credits_attempted,
        marks.credits_earned,
        coalesce(marks.school_year, latest_enrolled_year.school_year) as school_year,
        coalesce(marks.credits_attempted, 1.0) as gpa_weight,
        coalesce(
            marks.subject_area in ('ela', 'math', 'science', 'social_studies'), false
        ) as is_core
    from marks
    inner join identity
        on
            marks.source = identity.source
            and marks.student_ref = identity.student_ref
            and identity.entity = 'course_mark'
    left join latest_enrolled_year
        on identity.student_key = latest_enrolled_year.student_key
    where coalesce(marks.mark_type, 'final') <> 'interim'
),

mark_years as (
    select
        student_key,
        school_year,
        count(*) as final_marks,
        sum(case when grade_points is not null then grade_points * gpa_weight end)
        / nullif(sum(case when grade_points is not null then gpa_weight end), 0) as gpa,
        sum(case when is_failing and is_core then 1 else 0 end) as core_course_failures,
        sum(case when is_failing then 1 else 0 end) as any_course_failures,
        sum(credits_attempted) as credits_attempted,
        sum(credits_earned) as credits_earned
    from final_marks
    where school_year is not null
    group by
        student_key,
        school_year
),

matched_sections as (
    select
        identity.student_key,
        sections.section_id,
        sections.is_advanced,
        coalesce(
            {{ school_year_of('coalesce(sections.begin_date, sections.end_date)') }},
            latest_enrolled_year.school_year
        ) as school_year
    from sections
    inner join identity
        on
            sections.source = identity.source
            and sections.student_ref = identity.student_ref
            and identity.entity = 'section_enrollment'
    left join latest_enrolled_year
        on identity.student_key = latest_enrolled_year.student_key
),

section_years as (
    select
        student_key,
        school_year,
        count(distinct section_id) as sections_enrolled,
        max(case when is_advanced then 1 else 0 end) as advanced_flag
    from matched_sections
    where school_year is not null
    group by
        student_key,
        school_year
),

student_years as (
    select
        student_key,
        school_year
    from mark_years
    union
    select
        student_key,
        school_year
    from section_years
),

final as (
    select
        student_years.student_key,
        cast(student_years.school_year as {{ cast_to('bigint') }}) as school_year,
        cast(coalesce(mark_years.final_marks, 0) as {{ cast_to('bigint') }}) as final_marks,
        cast({{ wholechild_stable('mark_years.gpa') }} as {{ cast_to('double') }}) as gpa,
        cast(mark_years.core_course_failures as {{ cast_to('bigint') }}) as core_course_failures,
        cast(mark_years.any_course_failures as {{ cast_to('bigint') }}) as any_course_failures,
        cast(mark_years.credits_attempted as {{ cast_to('double') }}) as credits_attempted,
        cast(
            {{ wholechild_stable('mark_years.credits_earned') }} as {{ cast_to('double') }}
        ) as credits_earned,
        cast(
            coalesce(section_years.sections_enrolled, 0) as {{ cast_to('bigint') }}
        ) as sections_enrolled,
        coalesce(section_years.advanced_flag = 1, false) as advanced_course_enrolled
    from student_years
    left join mark_years
        on
            student_years.student_key = mark_years.student_key
            and student_years.school_year = mark_years.school_year
    left join section_years
        on
            student_years.student_key = section_years.student_key
            and student_years.school_year = section_years.school_year
)

select * from final
