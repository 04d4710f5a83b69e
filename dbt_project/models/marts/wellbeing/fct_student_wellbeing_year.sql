-- Wellbeing per student and school year: wellbeing_score is the mean of the construct
-- scores of the student's latest administration that year
-- (fct_student_wellbeing_construct_year), so each construct weighs the same.
-- Grain: student_key x school_year.
with

constructs as (
    select * from {{ ref('fct_student_wellbeing_construct_year') }}
),

final as (
    select
        student_key,
        school_year,
        cast(avg(construct_score) as {{ cast_to('double') }}) as wellbeing_score,
        cast(count(*) as {{ cast_to('bigint') }}) as constructs_measured,
        min(survey_name) as survey_name,
        max(administered_on) as administered_on
    from constructs
    group by
        student_key,
        school_year
)

select * from final
