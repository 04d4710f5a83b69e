-- Program participation per student, school year and program: a student is in a program
-- for a school year when one of their participation spans overlaps an enrollment span of
-- that year (METRICS.md; an open span runs on). disability_category is the special
-- education category of the latest overlapping span. Unmatched students' rows are left
-- out (mart_unmatched_records). Grain: student_key x school_year x program.
with

participation as (
    select
        source,
        student_ref,
        program,
        begin_date,
        end_date,
        disability_category
    from {{ ref('stg_program_participation') }}
),

identity as (
    {{ wholechild_matched_students('program_participation') }}
),

enrollment_spans as (
    select
        student_key,
        school_year,
        entry_date,
        exit_date
    from {{ ref('int_enrollment_spans') }}
),

matched as (
    select
        identity.student_key,
        participation.program,
        participation.begin_date,
        participation.end_date,
        participation.disability_category
    from participation
    inner join identity
        on
            participation.source = identity.source
            and participation.student_ref = identity.student_ref
),

overlapping as (
    -- One row per participation span and school year it overlaps (a span overlapping
    -- two enrollment spans of one year is kept once).
    select distinct
        matched.student_key,
        enrollment_spans.school_year,
        matched.program,
        matched.begin_date,
        matched.end_date,
        matched.disability_category
    from matched
    inner join enrollment_spans
        on
            matched.student_key = enrollment_spans.student_key
            and matched.begin_date
            <= coalesce(enrollment_spans.exit_date, cast('9999-12-31' as {{ cast_to('date') }}))
            and coalesce(matched.end_date, cast('9999-12-31' as {{ cast_to('date') }}))
            >= enrollment_spans.entry_date
),

ranked as (
    select
        student_key,
        school_year,
        program,
        begin_date,
        end_date,
        disability_category,
        row_number() over (
            partition by student_key, school_year, program
            order by begin_date desc, end_date desc, disability_category desc
        ) as recency
    from overlapping
),

per_year as (
    select
        student_key,
        school_year,
        program,
        count(*) as spans,
        min(begin_date) as begin_date,
        max(coalesce(end_date, cast('9999-12-31' as {{ cast_to('date') }}))) as end_or_open,
        max(case when recency = 1 then disability_category end) as disability_category
    from ranked
    group by
        student_key,
        school_year,
        program
),

final as (
    select
        student_key,
        cast(school_year as {{ cast_to('bigint') }}) as school_year,
        program,
        begin_date,
        case
            when end_or_open < cast('9999-12-31' as {{ cast_to('date') }}) then end_or_open
        end as end_date,
        cast(spans as {{ cast_to('bigint') }}) as spans,
        case when program = 'special_education' then disability_category end
            as disability_category
    from per_year
)

select * from final
