-- The students enrolled in the latest school year with any enrollment: the denominator
-- of every coverage share (mart_interoperability_coverage, mart_growth_points,
-- mart_data_readiness). Always exactly one row: 0 students, school_year NULL, before the
-- first enrollment arrives.
with

enrollment_spans as (
    select
        student_key,
        school_year
    from {{ ref('int_enrollment_spans') }}
),

current_year as (
    select max(school_year) as school_year
    from enrollment_spans
),

final as (
    select
        current_year.school_year,
        count(distinct enrollment_spans.student_key) as students_enrolled
    from current_year
    left join enrollment_spans
        on current_year.school_year = enrollment_spans.school_year
    group by current_year.school_year
)

select * from final
