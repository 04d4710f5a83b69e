-- The counts behind mart_equity_gaps: per school year, scope (district, each school),
-- metric, dimension and subgroup, the students in the metric's population
-- (n_students) and those with the outcome (n_outcome), and the same for all students in
-- scope (all_n_students, all_n_outcome). Complete: every metric x dimension x subgroup
-- of macros/equity_rules.sql for every scope with enrolled students that year, so a
-- subgroup with no student in the population has a row with zeros (the mart suppresses
-- it) rather than no row. A student outside a metric's population (the metric NULL in
-- int_student_metrics_year) is counted nowhere for it.
-- Grain: school_year x scope x school_id x metric x dimension x subgroup.
{%- set metrics = equity_metrics() %}
{%- set dimensions = equity_dimensions() %}
with

student_metrics as (
    select * from {{ ref('int_student_metrics_year') }}
),

scopes as (
    select distinct
        school_year,
        scope,
        school_id
    from student_metrics
),

metric_list as (
    {%- for metric in metrics %}
    select cast('{{ metric }}' as {{ cast_to('string') }}) as metric
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

subgroup_list as (
    {{ equity_subgroups_sql() }}
),

metric_long as (
    -- One row per student, scope and metric whose population the student is in.
    {%- for metric in metrics %}
    select
        student_key,
        school_year,
        scope,
        school_id,
        {%- for dimension, _subgroups in dimensions %}
        {{ dimension }},
        {%- endfor %}
        '{{ metric }}' as metric,
        case when {{ metric }} then 1 else 0 end as outcome
    from student_metrics
    where {{ metric }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

dimension_long as (
    -- ...times one row per dimension, carrying the student's subgroup in it.
    {%- for dimension, _subgroups in dimensions %}
    select
        school_year,
        scope,
        school_id,
        metric,
        outcome,
        '{{ dimension }}' as dimension,
        {{ dimension }} as subgroup
    from metric_long
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

subgroup_counts as (
    select
        school_year,
        scope,
        school_id,
        metric,
        dimension,
        subgroup,
        count(*) as n_students,
        sum(outcome) as n_outcome
    from dimension_long
    group by
        school_year,
        scope,
        school_id,
        metric,
        dimension,
        subgroup
),

scope_counts as (
    select
        school_year,
        scope,
        school_id,
        metric,
        count(*) as all_n_students,
        sum(outcome) as all_n_outcome
    from metric_long
    group by
        school_year,
        scope,
        school_id,
        metric
),

grid as (
    select
        scopes.school_year,
        scopes.scope,
        scopes.school_id,
        metric_list.metric,
        subgroup_list.dimension,
        subgroup_list.subgroup,
        subgroup_list.subgroup_order
    from scopes
    cross join metric_list
    cross join subgroup_list
),

final as (
    -- school_id is NULL at district scope: joined NULL-safely through coalesce.
    select
        grid.school_year,
        grid.scope,
        grid.school_id,
        grid.metric,
        grid.dimension,
        grid.subgroup,
        grid.subgroup_order,
        cast(coalesce(subgroup_counts.n_students, 0) as {{ cast_to('bigint') }}) as n_students,
        cast(coalesce(subgroup_counts.n_outcome, 0) as {{ cast_to('bigint') }}) as n_outcome,
        cast(
            coalesce(scope_counts.all_n_students, 0) as {{ cast_to('bigint') }}
        ) as all_n_students,
        cast(
            coalesce(scope_counts.all_n_outcome, 0) as {{ cast_to('bigint') }}
        ) as all_n_outcome
    from grid
    left join subgroup_counts
        on
            grid.school_year = subgroup_counts.school_year
            and grid.scope = subgroup_counts.scope
            and coalesce(grid.school_id, '') = coalesce(subgroup_counts.school_id, '')
            and grid.metric = subgroup_counts.metric
            and grid.dimension = subgroup_counts.dimension
            and grid.subgroup = subgroup_counts.subgroup
    left join scope_counts
        on
            grid.school_year = scope_counts.school_year
            and grid.scope = scope_counts.scope
            and coalesce(grid.school_id, '') = coalesce(scope_counts.school_id, '')
            and grid.metric = scope_counts.metric
)

select * from final
