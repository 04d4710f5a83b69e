-- One row per merged enrollment span: a student's enrollments at one school in one school
-- year, no-shows and invalid enrollments dropped, overlapping or touching records merged
-- (METRICS.md, "Enrollment and the school calendar"; teamster #5192: overlaps must never
-- double count). Gaps and islands with window functions only, so it runs on any engine.
with

enrollments as (
    select
        source,
        student_ref,
        school_id,
        entry_date,
        exit_date,
        grade_level,
        exit_code,
        school_year
    from {{ ref('stg_enrollment') }}
),

identity as (
    {{ wholechild_matched_students('enrollment') }}
),

kept as (
    -- Matched students only; a no-show or invalid enrollment never happened.
    select
        identity.student_key,
        enrollments.school_id,
        coalesce(
            enrollments.school_year,
            {{ school_year_of('enrollments.entry_date') }}
        ) as school_year,
        enrollments.entry_date,
        enrollments.exit_date,
        enrollments.grade_level,
        -- An open enrollment runs to the as-of date: the far future while merging.
        coalesce(enrollments.exit_date, cast('9999-12-31' as date)) as exit_or_open
    from enrollments
    inner join identity
        on
            enrollments.source = identity.source
            and enrollments.student_ref = identity.student_ref
    where
        enrollments.exit_code is null
        or enrollments.exit_code not in ('no_show', 'invalid_enrollment')
),

with_reach as (
    -- The latest exit among the earlier records of the same student, school and year.
    select
        student_key,
        school_id,
        school_year,
        entry_date,
        exit_date,
        grade_level,
        exit_or_open,
        max(exit_or_open) over (
            partition by student_key, school_id, school_year
            order by entry_date, exit_or_open
            rows between unbounded preceding and 1 preceding
        ) as reach_before
    from kept
),

islands as (
    -- A record starts a new span when it begins after the day following everything
    -- before it (touching records, exit one day and entry the next, are one span).
    select
        student_key,
        school_id,
        school_year,
        entry_date,
        exit_date,
        grade_level,
        exit_or_open,
        sum(
            case
                when reach_before is null then 1
                when entry_date > {{ wholechild_add_days('reach_before', 1) }} then 1
                else 0
            end
        ) over (
            partition by student_key, school_id, school_year
            order by entry_date, exit_or_open
            rows between unbounded preceding and current row
        ) as span_number
    from with_reach
),

ranked as (
    -- The span's grade level is the one of its latest record.
    select
        student_key,
        school_id,
        school_year,
        span_number,
        entry_date,
        exit_or_open,
        grade_level,
        row_number() over (
            partition by student_key, school_id, school_year, span_number
            order by entry_date desc, exit_or_open desc, grade_level desc
        ) as latest_first
    from islands
),

spans as (
    select
        student_key,
        school_id,
        school_year,
        min(entry_date) as entry_date,
        case
            when max(exit_or_open) < cast('9999-12-31' as date) then max(exit_or_open)
        end as exit_date,
        max(case when latest_first = 1 then grade_level end) as grade_level
    from ranked
    group by
        student_key,
        school_id,
        school_year,
        span_number
),

final as (
    select
        student_key,
        school_id,
        school_year,
        entry_date,
        exit_date,
        grade_level
    from spans
)

select * from final
