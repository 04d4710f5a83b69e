-- Equity gaps (METRICS.md "Equity gaps" and "Small-cell suppression"): per school year,
-- scope (district, each school), metric, dimension and subgroup, the subgroup's rate,
-- the rate of everyone else in scope, the rate of all students, the gap in percentage
-- points, the risk ratio and the representation ratio, with small-cell suppression:
--   - a subgroup with n_students below var wholechild:equity:suppression_min_n (a
--     subgroup with no student included) is suppressed: rate, n_outcome, others_rate,
--     gap_pp, risk_ratio and representation_ratio NULL, rate_display 'n<{min_n}' (the
--     complementary cells below show 'suppressed': they are not small);
--   - complementary suppression (teamster #4237): within one school year, scope, metric
--     and dimension, if exactly one subgroup with students is suppressed, the next
--     smallest subgroup (fewest students, then subgroup code) is suppressed too
--     ('complementary'), so the suppressed count cannot be derived from the total. A
--     subgroup with no student counts neither as the one suppressed subgroup nor as its
--     complement: its count is 0 whatever is published, so it protects nothing;
--   - the same rule carried to its stated end: while the suppressed subgroups' outcomes
--     would add up to 0, or to all of their students, the total minus the published
--     subgroups would still give every suppressed count (all 0, or all with the
--     outcome), so the next smallest subgroup is suppressed as well
--     ('complementary_all_or_none'), until the sum says nothing or no subgroup is left;
--   - all_rate is NULL when the scope's whole population is below min_n (the total is a
--     cell too: every subgroup row is then suppressed);
--   - top/bottom coding of rate_display by n_students (NCES SLDS brief 2011-603 style):
--     >= 300: >=99%/<=1%; 100-299: >=98%/<=2%; 40-99: >=95%/<=5%; 10-39: >=90%/<=10%;
--     otherwise the rate rounded (half up) to a whole percent.
-- Numeric columns are for analysts inside the district; anything published shows
-- rate_display only. Known limit (METRICS.md): a suppressed school cell can sometimes be
-- derived from the district row minus the other schools.
-- Grain: school_year x scope x school_id x metric x dimension x subgroup.
{%- set min_n = var('wholechild:equity:suppression_min_n') %}
with

cells as (
    select
        school_year,
        scope,
        school_id,
        metric,
        dimension,
        subgroup,
        subgroup_order,
        n_students,
        n_outcome,
        all_n_students,
        all_n_outcome
    from {{ ref('int_equity_cells') }}
),

sized as (
    -- Primary suppression: subgroups with students but fewer than min_n.
    select
        *,
        all_n_students - n_students as others_n,
        all_n_outcome - n_outcome as others_n_outcome,
        n_students > 0 and n_students < {{ min_n }} as is_primary
    from cells
),

primary_totals as (
    -- Per school year, scope, metric and dimension: how many primary cells, and their
    -- students and outcomes together (what the total minus the published cells gives).
    select
        *,
        sum(case when is_primary then 1 else 0 end) over (
            partition by school_year, scope, school_id, metric, dimension
        ) as primary_cells,
        sum(case when is_primary then n_students else 0 end) over (
            partition by school_year, scope, school_id, metric, dimension
        ) as primary_n,
        sum(case when is_primary then n_outcome else 0 end) over (
            partition by school_year, scope, school_id, metric, dimension
        ) as primary_outcome
    from sized
),

candidates as (
    -- The published-size subgroups (n >= min_n) from the smallest up, with the
    -- suppressed set's students and outcomes if suppression reached this one too.
    select
        *,
        case when n_students >= {{ min_n }} then 1 else 0 end as is_candidate,
        row_number() over (
            partition by
                school_year,
                scope,
                school_id,
                metric,
                dimension,
                case when n_students >= {{ min_n }} then 1 else 0 end
            order by n_students asc, subgroup asc
        ) as size_rank,
        primary_n + sum(n_students) over (
            partition by
                school_year,
                scope,
                school_id,
                metric,
                dimension,
                case when n_students >= {{ min_n }} then 1 else 0 end
            order by n_students asc, subgroup asc
            rows between unbounded preceding and current row
        ) as reach_n,
        primary_outcome + sum(n_outcome) over (
            partition by
                school_year,
                scope,
                school_id,
                metric,
                dimension,
                case when n_students >= {{ min_n }} then 1 else 0 end
            order by n_students asc, subgroup asc
            rows between unbounded preceding and current row
        ) as reach_outcome
    from primary_totals
),

reach as (
    -- How far complementary suppression goes: nowhere without a primary cell; to the
    -- smallest candidate when exactly one cell is primary (METRICS.md); and further, one
    -- candidate at a time, while the suppressed cells' outcomes would sum to 0 or to all
    -- their students (the total minus the published cells would then give every
    -- suppressed count: all 0, or all with the outcome).
    select
        *,
        case
            when primary_cells = 0 then 0
            when
                primary_cells >= 2
                and primary_outcome > 0
                and primary_outcome < primary_n
                then 0
            else
                coalesce(
                    min(
                        case
                            when
                                is_candidate = 1
                                and reach_outcome > 0
                                and reach_outcome < reach_n
                                then size_rank
                        end
                    ) over (partition by school_year, scope, school_id, metric, dimension),
                    sum(is_candidate) over (
                        partition by school_year, scope, school_id, metric, dimension
                    )
                )
        end as complement_reach
    from candidates
),

suppressed as (
    select
        *,
        case
            when n_students < {{ min_n }} then 'below_min_n'
            when size_rank = 1 and primary_cells = 1 then 'complementary'
            when size_rank <= complement_reach then 'complementary_all_or_none'
        end as suppression_reason
    from reach
),

measured as (
    select
        *,
        suppression_reason is not null as is_hidden,
        case
            when n_students > 0
                then cast(n_outcome as {{ cast_to('double') }}) / n_students
        end as subgroup_rate,
        case
            when others_n > 0
                then cast(others_n_outcome as {{ cast_to('double') }}) / others_n
        end as rest_rate,
        case
            when all_n_students > 0
                then cast(all_n_outcome as {{ cast_to('double') }}) / all_n_students
        end as scope_rate
    from suppressed
),

final as (
    -- PRODUCT.md's columns in its order, then the extras (others_n, subgroup_order,
    -- suppression_reason and the rule that produced the row, suppression_min_n).
    select
        cast(school_year as {{ cast_to('bigint') }}) as school_year,
        cast(scope as {{ cast_to('string') }}) as scope,
        cast(school_id as {{ cast_to('string') }}) as school_id,
        cast(metric as {{ cast_to('string') }}) as metric,
        cast(dimension as {{ cast_to('string') }}) as dimension,
        cast(subgroup as {{ cast_to('string') }}) as subgroup,
        cast(n_students as {{ cast_to('bigint') }}) as n_students,
        cast(case when not is_hidden then n_outcome end as {{ cast_to('bigint') }}) as n_outcome,
        cast(case when not is_hidden then subgroup_rate end as {{ cast_to('double') }}) as rate,
        cast(case when not is_hidden then rest_rate end as {{ cast_to('double') }}) as others_rate,
        cast(
            case when all_n_students >= {{ min_n }} then scope_rate end as {{ cast_to('double') }}
        ) as all_rate,
        cast(
            case when not is_hidden then 100 * (subgroup_rate - rest_rate) end
            as {{ cast_to('double') }}
        ) as gap_pp,
        cast(
            case when not is_hidden and rest_rate > 0 then subgroup_rate / rest_rate end
            as {{ cast_to('double') }}
        ) as risk_ratio,
        cast(
            case when not is_hidden and scope_rate > 0 then subgroup_rate / scope_rate end
            as {{ cast_to('double') }}
        ) as representation_ratio,
        is_hidden as is_suppressed,
        cast(
            case
                when suppression_reason = 'below_min_n' then 'n<{{ min_n }}'
                when is_hidden then 'suppressed'
                when n_students = 0 then cast(null as {{ cast_to('string') }})
                else {{ equity_rate_display('n_students', 'n_outcome') }}
            end as {{ cast_to('string') }}
        ) as rate_display,
        cast(others_n as {{ cast_to('bigint') }}) as others_n,
        cast(subgroup_order as {{ cast_to('bigint') }}) as subgroup_order,
        cast(suppression_reason as {{ cast_to('string') }}) as suppression_reason,
        cast({{ min_n }} as {{ cast_to('bigint') }}) as suppression_min_n
    from measured
)

select * from final
