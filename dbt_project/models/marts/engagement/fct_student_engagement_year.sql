-- Online engagement per student and school year, from LMS activity: engagement_rate =
-- sum(assignments_submitted) / sum(assignments_due) (NULL when nothing was due);
-- minutes_active in total and per active week (a week, Monday to Sunday, with minutes
-- or a submission). Unmatched accounts are left out (mart_unmatched_records).
-- Grain: student_key x school_year.
with

activity as (
    select
        source,
        student_ref,
        activity_date,
        minutes_active,
        assignments_submitted,
        assignments_due
    from {{ ref('stg_lms_activity') }}
),

identity as (
    {{ wholechild_matched_students('lms_activity') }}
),

matched as (
    select
        identity.student_key,
        activity.minutes_active,
        activity.assignments_submitted,
        activity.assignments_due,
        {{ school_year_of('activity.activity_date') }} as school_year,
        case
            when
                coalesce(activity.minutes_active, 0) > 0
                or coalesce(activity.assignments_submitted, 0) > 0
                then date_trunc('week', activity.activity_date)
        end as active_week
    from activity
    inner join identity
        on
            activity.source = identity.source
            and activity.student_ref = identity.student_ref
),

per_year as (
    select
        student_key,
        school_year,
        count(*) as activity_rows,
        sum(assignments_submitted) as assignments_submitted,
        sum(assignments_due) as assignments_due,
        sum(minutes_active) as minutes_active,
        count(distinct active_week) as active_weeks
    from matched
    group by
        student_key,
        school_year
),

final as (
    select
        student_key,
        cast(school_year as {{ cast_to('bigint') }}) as school_year,
        cast(activity_rows as {{ cast_to('bigint') }}) as activity_rows,
        cast(assignments_submitted as {{ cast_to('bigint') }}) as assignments_submitted,
        cast(assignments_due as {{ cast_to('bigint') }}) as assignments_due,
        cast(
            cast(assignments_submitted as {{ cast_to('double') }})
            / nullif(assignments_due, 0) as {{ cast_to('double') }}
        ) as engagement_rate,
        cast(minutes_active as {{ cast_to('double') }}) as minutes_active,
        cast(active_weeks as {{ cast_to('bigint') }}) as active_weeks,
        cast(
            minutes_active / nullif(active_weeks, 0) as {{ cast_to('double') }}
        ) as minutes_per_active_week
    from per_year
)

select * from final
