-- Fails for every school year, scope and metric of mart_equity_gaps that lacks one of the
-- 22 dimension subgroups of macros/equity_rules.sql, and for every school year with
-- enrolled students whose district scope lacks a metric.
{%- set n_subgroups = equity_dimensions() | map(attribute=1) | map('length') | sum %}
with

per_scope as (
    select
        school_year,
        scope,
        school_id,
        metric,
        count(*) as n_rows
    from {{ ref('mart_equity_gaps') }}
    group by
        school_year,
        scope,
        school_id,
        metric
),

years as (
    select distinct school_year from {{ ref('dim_student') }}
),

district_metrics as (
    select
        years.school_year,
        count(distinct gaps.metric) as n_metrics
    from years
    left join {{ ref('mart_equity_gaps') }} as gaps
        on
            years.school_year = gaps.school_year
            and gaps.scope = 'district'
    group by years.school_year
)

select
    school_year,
    scope,
    school_id,
    metric,
    n_rows as n_found
from per_scope
where n_rows <> {{ n_subgroups }}
union all
select
    school_year,
    'district' as scope,
    null as school_id,
    'every metric' as metric,
    n_metrics as n_found
from district_metrics
where n_metrics <> {{ equity_metrics() | length }}
