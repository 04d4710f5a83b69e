-- Wellbeing survey scores per student, school year and construct, from the student's
-- latest administration that year (the latest administered_on; every survey answered
-- that day counts). construct_score is the mean of the student's scores for the construct
-- (0..100). Unmatched students' answers are left out (mart_unmatched_records).
-- Grain: student_key x school_year x construct.
with

responses as (
    select
        source,
        student_ref,
        survey_name,
        administered_on,
        construct,
        score
    from {{ ref('stg_survey_response') }}
),

identity as (
    {{ wholechild_matched_students('survey_response') }}
),

matched as (
    select
        identity.student_key,
        {{ school_year_of('responses.administered_on') }} as school_year,
        responses.survey_name,
        responses.administered_on,
        responses.construct,
        responses.score
    from responses
    inner join identity
        on
            responses.source = identity.source
            and responses.student_ref = identity.student_ref
),

latest as (
    select
        student_key,
        school_year,
        survey_name,
        administered_on,
        construct,
        score,
        max(administered_on) over (
            partition by student_key, school_year
        ) as latest_administered_on
    from matched
),

final as (
    select
        student_key,
        cast(school_year as {{ cast_to('bigint') }}) as school_year,
        construct,
        cast(avg(score) as {{ cast_to('double') }}) as construct_score,
        cast(count(*) as {{ cast_to('bigint') }}) as responses,
        min(survey_name) as survey_name,
        max(administered_on) as administered_on
    from latest
    where administered_on = latest_administered_on
    group by
        student_key,
        school_year,
        construct
)

select * from final
