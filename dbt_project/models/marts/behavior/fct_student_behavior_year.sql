-- Discipline per student and school year (spring year of the incident date). An incident
-- may carry several actions for one student (the entity's key is incident, student and
-- action): incidents counts distinct incident ids; suspensions counts in-school,
-- out-of-school suspension and expulsion actions (METRICS.md: suspended = at least one).
-- Out-of-school suspension days include expulsions (IDEA counts them together).
-- Unmatched students' rows are left out (mart_unmatched_records).
-- Grain: student_key x school_year.
with

incidents as (
    select
        source,
        student_ref,
        incident_id,
        incident_date,
        action,
        days_removed
    from {{ ref('stg_discipline_incident') }}
),

identity as (
    {{ wholechild_matched_students('discipline_incident') }}
),

matched as (
    select
        identity.student_key,
        {{ school_year_of('incidents.incident_date') }} as school_year,
        incidents.incident_id,
        incidents.action,
        coalesce(incidents.days_removed, 0) as days_removed
    from incidents
    inner join identity
        on
            incidents.source = identity.source
            and incidents.student_ref = identity.student_ref
),

per_year as (
    select
        student_key,
        school_year,
        count(distinct incident_id) as incidents,
        sum(
            case
                when
                    action in (
                        'in_school_suspension', 'out_of_school_suspension', 'expulsion'
                    )
                    then 1
                else 0
            end
        ) as suspensions,
        sum(case when action = 'in_school_suspension' then 1 else 0 end)
            as in_school_suspensions,
        sum(case when action = 'out_of_school_suspension' then 1 else 0 end)
            as out_of_school_suspensions,
        sum(case when action = 'expulsion' then 1 else 0 end) as expulsions,
        sum(case when action = 'in_school_suspension' then days_removed else 0 end)
            as in_school_suspension_days,
        sum(
            case
                when action in ('out_of_school_suspension', 'expulsion') then days_removed
                else 0
            end
        ) as out_of_school_suspension_days,
        sum(days_removed) as days_removed
    from matched
    group by
        student_key,
        school_year
),

final as (
    select
        student_key,
        cast(school_year as {{ cast_to('bigint') }}) as school_year,
        cast(incidents as {{ cast_to('bigint') }}) as incidents,
        cast(suspensions as {{ cast_to('bigint') }}) as suspensions,
        cast(in_school_suspensions as {{ cast_to('bigint') }}) as in_school_suspensions,
        cast(out_of_school_suspensions as {{ cast_to('bigint') }}) as out_of_school_suspensions,
        cast(expulsions as {{ cast_to('bigint') }}) as expulsions,
        cast(in_school_suspension_days as {{ cast_to('double') }}) as in_school_suspension_days,
        cast(
            out_of_school_suspension_days as {{ cast_to('double') }}
        ) as out_of_school_suspension_days,
        cast(days_removed as {{ cast_to('double') }}) as days_removed,
        suspensions > 0 as is_suspended
    from per_year
)

select * from final
