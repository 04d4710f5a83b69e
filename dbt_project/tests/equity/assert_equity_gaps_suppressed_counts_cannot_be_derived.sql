-- Fails for every school year, scope, metric and dimension where a suppressed count can
-- be recovered from what mart_equity_gaps publishes: the scope's total outcome
-- (all_rate x the students summed over the subgroups) minus the published n_outcome
-- leaves what the suppressed subgroups with students hold together. That must not be
-- one subgroup alone, nor 0 or all of their students (then each is 0, or each is all).
with

published as (
    select
        school_year,
        scope,
        school_id,
        metric,
        dimension,
        sum(n_students) as all_students,
        max(all_rate) as all_rate,
        sum(case when not is_suppressed then n_outcome else 0 end) as published_outcome,
        sum(
            case when is_suppressed and n_students > 0 then 1 else 0 end
        ) as hidden_subgroups,
        sum(
            case when is_suppressed then n_students else 0 end
        ) as hidden_students,
        sum(case when not is_suppressed and n_students > 0 then 1 else 0 end) as shown_subgroups
    from {{ ref('mart_equity_gaps') }}
    group by
        school_year,
        scope,
        school_id,
        metric,
        dimension
),

derived as (
    select
        *,
        round(all_rate * all_students) - published_outcome as hidden_outcome
    from published
    where all_rate is not null
)

select *
from derived
where
    hidden_subgroups = 1
    or (
        hidden_subgroups >= 2
        and shown_subgroups > 0
        and (hidden_outcome <= 0 or hidden_outcome >= hidden_students)
    )
