-- Assessment results per student and school year (spring year of the test date). Per
-- subject (ela, math, science): proficiency from the latest result with a known
-- is_proficient (METRICS.md), and the scale score and percentile of the latest result
-- that has either. Unmatched students' results are left out (mart_unmatched_records).
-- Grain: student_key x school_year.
with

results as (
    select
        source,
        student_ref,
        assessment_name,
        subject,
        assessed_on,
        test_code,
        scale_score,
        percentile,
        is_proficient
    from {{ ref('stg_assessment_result') }}
),

identity as (
    {{ wholechild_matched_students('assessment_result') }}
),

matched as (
    select
        identity.student_key,
        {{ school_year_of('results.assessed_on') }} as school_year,
        results.source,
        results.assessment_name,
        results.subject,
        results.assessed_on,
        results.test_code,
        results.scale_score,
        results.percentile,
        results.is_proficient
    from results
    inner join identity
        on
            results.source = identity.source
            and results.student_ref = identity.student_ref
),

proficiency_ranked as (
    select
        student_key,
        school_year,
        subject,
        is_proficient,
        row_number() over (
            partition by student_key, school_year, subject
            order by assessed_on desc, assessment_name desc, test_code desc, source desc
        ) as recency
    from matched
    where is_proficient is not null
),

score_ranked as (
    select
        student_key,
        school_year,
        subject,
        assessment_name,
        scale_score,
        percentile,
        row_number() over (
            partition by student_key, school_year, subject
            order by assessed_on desc, assessment_name desc, test_code desc, source desc
        ) as recency
    from matched
    where
        scale_score is not null
        or percentile is not null
),

per_year as (
    select
        student_key,
        school_year,
        count(*) as results,
        max(assessed_on) as last_assessed_on
    from matched
    group by
        student_key,
        school_year
),

proficiency as (
    select
        student_key,
        school_year,
        max(
            case when subject = 'ela' then case when is_proficient then 1 else 0 end end
        ) as ela_proficient_flag,
        max(
            case when subject = 'math' then case when is_proficient then 1 else 0 end end
        ) as math_proficient_flag,
        max(
            case when subject = 'science' then case when is_proficient then 1 else 0 end end
        ) as science_proficient_flag
    from proficiency_ranked
    where recency = 1
    group by
        student_key,
        school_year
),

scores as (
    select
        student_key,
        school_year,
        max(case when subject = 'ela' then scale_score end) as ela_scale_score,
        max(case when subject = 'ela' then percentile end) as ela_percentile,
        max(case when subject = 'ela' then assessment_name end) as ela_score_assessment,
        max(case when subject = 'math' then scale_score end) as math_scale_score,
        max(case when subject = 'math' then percentile end) as math_percentile,
        max(case when subject = 'math' then assessment_name end) as math_score_assessment,
        max(case when subject = 'science' then scale_score end) as science_scale_score,
        max(case when subject = 'science' then percentile end) as science_percentile,
        max(case when subject = 'science' then assessment_name end) as science_score_assessment
    from score_ranked
    where recency = 1
    group by
        student_key,
        school_year
),

final as (
    select
        per_year.student_key,
        cast(per_year.school_year as {{ cast_to('bigint') }}) as school_year,
        cast(per_year.results as {{ cast_to('bigint') }}) as results,
        per_year.last_assessed_on,
        proficiency.ela_proficient_flag = 1 as ela_proficient,
        cast(scores.ela_scale_score as {{ cast_to('double') }}) as ela_scale_score,
        cast(scores.ela_percentile as {{ cast_to('double') }}) as ela_percentile,
        scores.ela_score_assessment,
        proficiency.math_proficient_flag = 1 as math_proficient,
        cast(scores.math_scale_score as {{ cast_to('double') }}) as math_scale_score,
        cast(scores.math_percentile as {{ cast_to('double') }}) as math_percentile,
        scores.math_score_assessment,
        proficiency.science_proficient_flag = 1 as science_proficient,
        cast(scores.science_scale_score as {{ cast_to('double') }}) as science_scale_score,
        cast(scores.science_percentile as {{ cast_to('double') }}) as science_percentile,
        scores.science_score_assessment
    from per_year
    left join proficiency
        on
            per_year.student_key = proficiency.student_key
            and per_year.school_year = proficiency.school_year
    left join scores
        on
            per_year.student_key = scores.student_key
            and per_year.school_year = scores.school_year
)

select * from final
