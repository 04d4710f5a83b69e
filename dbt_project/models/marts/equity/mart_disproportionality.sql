-- IDEA significant disproportionality (34 CFR 300.646-300.647; METRICS.md): per school
-- year, category and racial/ethnic group (the 7 federal groups; unknown is left out of
-- groups and comparisons), the group's risk, the comparison group's risk and the risk
-- ratio.
--   Counts per group come from int_idea_group_counts (int_idea_student_outcomes):
--   identification (identification_any, identification_<category> for the 6 named
--   categories) among enrolled students; discipline among students with disabilities
--   (suspension days summed over the year before the <= 10 / > 10 split;
--   total_removals counts removals, so its risk is removals per child).
--   Comparison: all other racial/ethnic groups combined in the district. The group must
--   have at least var wholechild:idea:min_cell students with the outcome and var
--   wholechild:idea:min_n in the denominator, else not calculated. If the district
--   comparison fails either, the alternate risk ratio compares with all other groups in
--   the State (stg_state_comparison, same school year and category: sums of the other
--   groups' n_outcome and n_population), comparison_source 'state'; if that fails too,
--   or no State counts were loaded, not calculated. not_calculated_reason says which.
--   exceeds_threshold: risk_ratio > var wholechild:idea:risk_ratio_threshold in each of
--   the last var wholechild:idea:consecutive_years school years (consecutive spring
--   years, this one included; a year without district data or not calculated breaks the
--   run, and years before the first loaded one count as not exceeded).
-- Placement categories of 300.647(b) are not computed yet (no placement entity).
-- Grain: school_year x category x race_ethnicity.
{%- set min_cell = var('wholechild:idea:min_cell') %}
{%- set min_n = var('wholechild:idea:min_n') %}
{%- set threshold = var('wholechild:idea:risk_ratio_threshold') %}
{%- set consecutive = var('wholechild:idea:consecutive_years') %}
with

group_counts as (
    select
        school_year,
        category,
        race_ethnicity,
        n_group,
        n_group_outcome
    from {{ ref('int_idea_group_counts') }}
),

state_counts as (
    -- The State's counts per group; unknown is left out, as in the district.
    select
        school_year,
        category,
        race_ethnicity,
        n_outcome,
        n_population
    from {{ ref('stg_state_comparison') }}
    where race_ethnicity <> 'unknown'
),

state_totals as (
    select
        school_year,
        category,
        count(*) as state_groups,
        sum(n_population) as state_n,
        sum(n_outcome) as state_outcome
    from state_counts
    group by
        school_year,
        category
),

with_comparisons as (
    -- The comparison group is every other group: the category's total minus the group.
    select
        group_counts.school_year,
        group_counts.category,
        group_counts.race_ethnicity,
        group_counts.n_group,
        group_counts.n_group_outcome,
        sum(group_counts.n_group) over (
            partition by group_counts.school_year, group_counts.category
        ) - group_counts.n_group as district_n,
        sum(group_counts.n_group_outcome) over (
            partition by group_counts.school_year, group_counts.category
        ) - group_counts.n_group_outcome as district_outcome,
        coalesce(state_totals.state_groups, 0)
        - case when state_group.race_ethnicity is null then 0 else 1 end as state_other_groups,
        coalesce(state_totals.state_n, 0)
        - coalesce(state_group.n_population, 0) as state_n,
        coalesce(state_totals.state_outcome, 0)
        - coalesce(state_group.n_outcome, 0) as state_outcome
    from group_counts
    left join state_totals
        on
            group_counts.school_year = state_totals.school_year
            and group_counts.category = state_totals.category
    left join state_counts as state_group
        on
            group_counts.school_year = state_group.school_year
            and group_counts.category = state_group.category
            and group_counts.race_ethnicity = state_group.race_ethnicity
),

checked as (
    select
        *,
        case
            when n_group < {{ min_n }} and n_group_outcome < {{ min_cell }}
                then
                    'group n-size ' || cast(n_group as {{ cast_to('string') }})
                    || ' below min_n {{ min_n }} and cell size '
                    || cast(n_group_outcome as {{ cast_to('string') }})
                    || ' below min_cell {{ min_cell }}'
            when n_group < {{ min_n }}
                then
                    'group n-size ' || cast(n_group as {{ cast_to('string') }})
                    || ' below min_n {{ min_n }}'
            when n_group_outcome < {{ min_cell }}
                then
                    'group cell size ' || cast(n_group_outcome as {{ cast_to('string') }})
                    || ' below min_cell {{ min_cell }}'
        end as group_failure,
        case
            when district_n < {{ min_n }} and district_outcome < {{ min_cell }}
                then
                    'district comparison n-size ' || cast(district_n as {{ cast_to('string') }})
                    || ' below min_n {{ min_n }} and cell size '
                    || cast(district_outcome as {{ cast_to('string') }})
                    || ' below min_cell {{ min_cell }}'
            when district_n < {{ min_n }}
                then
                    'district comparison n-size ' || cast(district_n as {{ cast_to('string') }})
                    || ' below min_n {{ min_n }}'
            when district_outcome < {{ min_cell }}
                then
                    'district comparison cell size '
                    || cast(district_outcome as {{ cast_to('string') }})
                    || ' below min_cell {{ min_cell }}'
        end as district_failure,
        case
            when state_other_groups <= 0
                then
                    'no State comparison counts loaded for '
                    || cast(school_year as {{ cast_to('string') }}) || ' ' || category
            when state_n < {{ min_n }} and state_outcome < {{ min_cell }}
                then
                    'State comparison n-size ' || cast(state_n as {{ cast_to('string') }})
                    || ' below min_n {{ min_n }} and cell size '
                    || cast(state_outcome as {{ cast_to('string') }})
                    || ' below min_cell {{ min_cell }}'
            when state_n < {{ min_n }}
                then
                    'State comparison n-size ' || cast(state_n as {{ cast_to('string') }})
                    || ' below min_n {{ min_n }}'
            when state_outcome < {{ min_cell }}
                then
                    'State comparison cell size ' || cast(state_outcome as {{ cast_to('string') }})
                    || ' below min_cell {{ min_cell }}'
        end as state_failure
    from with_comparisons
),

sourced as (
    -- The comparison used: the district's when it passes; else the State's when State
    -- counts were loaded (the alternate risk ratio); else the failing district one, shown.
    select
        *,
        case
            when district_failure is null then 'district'
            when state_other_groups > 0 then 'state'
            else 'district'
        end as comparison_source,
        group_failure is null
        and (district_failure is null or state_failure is null) as is_calculated
    from checked
),

measured as (
    select
        school_year,
        category,
        race_ethnicity,
        n_group,
        n_group_outcome,
        comparison_source,
        is_calculated,
        case
            when comparison_source = 'state' then state_n else district_n
        end as comparison_n,
        case
            when comparison_source = 'state' then state_outcome else district_outcome
        end as comparison_outcome,
        case
            when group_failure is not null then group_failure
            when district_failure is not null and state_failure is not null
                then district_failure || '; ' || state_failure
        end as not_calculated_reason,
        case
            when
                group_failure is null
                and district_failure is not null
                and state_failure is null
                then district_failure || ': alternate risk ratio against the State'
        end as alternate_reason
    from sourced
),

risks as (
    select
        *,
        case
            when n_group > 0
                then cast(n_group_outcome as {{ cast_to('double') }}) / n_group
        end as group_risk,
        case
            when comparison_n > 0
                then cast(comparison_outcome as {{ cast_to('double') }}) / comparison_n
        end as comparison_risk
    from measured
),

ratios as (
    select
        *,
        case
            when is_calculated and comparison_risk > 0 then group_risk / comparison_risk
        end as risk_ratio
    from risks
),

flagged as (
    select
        *,
        coalesce(
            is_calculated and {{ wholechild_stable('risk_ratio') }} > {{ threshold }}, false
        ) as exceeds_this_year
    from ratios
),

runs as (
    -- Consecutive school years above the threshold (gaps and islands: within one run,
    -- school_year minus its rank among the group's exceeding years is constant).
    select
        *,
        school_year - row_number() over (
            partition by category, race_ethnicity, exceeds_this_year
            order by school_year
        ) as run_id
    from flagged
),

final as (
    select
        cast(school_year as {{ cast_to('bigint') }}) as school_year,
        cast(category as {{ cast_to('string') }}) as category,
        cast(race_ethnicity as {{ cast_to('string') }}) as race_ethnicity,
        cast(n_group as {{ cast_to('bigint') }}) as n_group,
        cast(n_group_outcome as {{ cast_to('bigint') }}) as n_group_outcome,
        cast(group_risk as {{ cast_to('double') }}) as group_risk,
        cast(comparison_source as {{ cast_to('string') }}) as comparison_source,
        cast(comparison_n as {{ cast_to('bigint') }}) as comparison_n,
        cast(comparison_outcome as {{ cast_to('bigint') }}) as comparison_outcome,
        cast(comparison_risk as {{ cast_to('double') }}) as comparison_risk,
        cast(risk_ratio as {{ cast_to('double') }}) as risk_ratio,
        is_calculated,
        cast(not_calculated_reason as {{ cast_to('string') }}) as not_calculated_reason,
        cast(alternate_reason as {{ cast_to('string') }}) as alternate_reason,
        exceeds_this_year as exceeds_threshold_this_year,
        cast(
            case
                when exceeds_this_year
                    then count(*) over (
                        partition by category, race_ethnicity, exceeds_this_year, run_id
                        order by school_year
                        rows between unbounded preceding and current row
                    )
                else 0
            end as {{ cast_to('bigint') }}
        ) as consecutive_years_exceeded,
        exceeds_this_year
        and count(*) over (
            partition by category, race_ethnicity, exceeds_this_year, run_id
            order by school_year
            rows between unbounded preceding and current row
        ) >= {{ consecutive }} as exceeds_threshold,
        cast({{ threshold }} as {{ cast_to('double') }}) as risk_ratio_threshold,
        cast({{ consecutive }} as {{ cast_to('bigint') }}) as consecutive_years_required,
        cast({{ min_cell }} as {{ cast_to('bigint') }}) as min_cell,
        cast({{ min_n }} as {{ cast_to('bigint') }}) as min_n
    from runs
)

select * from final
