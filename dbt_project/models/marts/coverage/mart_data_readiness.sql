-- The data-readiness scorecard (METRICS.md, Data readiness): the three domains of the
-- Readiness Framework scored from the platform's own metadata, one row per indicator,
-- each with a target (var wholechild:data_readiness:targets), a status and a sentence.
--   governance: share of canonical data elements with a definition, a steward and a
--     sensitivity class (wholechild.catalog, via the generated wholechild_governance());
--     share of registered sources with a steward; share of mart columns described;
--     direct identifiers in marts (column names; mart_unmatched_records is exempt).
--   needs_assessment: the growth points of mart_growth_points, one indicator per kind;
--     partial when the largest affects at most var
--     wholechild:data_readiness:growth_partial_share of the enrolled students.
--   implementation: share of the eleven domains connected, connected and fresh; share
--     of non-duplicate deliveries that passed their contract; share of current student
--     rows whose id resolved (identity match rate).
-- Share indicators are met at their target and partial from
-- var wholechild:data_readiness:partial_ratio x target. Grain: indicator.
{%- set targets = var('wholechild:data_readiness:targets') %}
{%- set partial_ratio = var('wholechild:data_readiness:partial_ratio') %}
{%- set growth_partial_share = var('wholechild:data_readiness:growth_partial_share') %}
{%- set gov = wholechild_governance() if wholechild_governance is defined else {} %}
{%- set pii_found = wholechild_pii_mart_columns(
    gov.get('pii_direct_names', []), gov.get('pii_exempt_marts', [])) %}
{%- set kinds = [
    'unconnected_domain', 'low_match_rate', 'stale_source', 'high_reject_rate', 'unmapped_codes'
] %}
with

coverage as (
    select
        domain,
        is_connected,
        freshness_status
    from {{ ref('mart_interoperability_coverage') }}
),

growth_points as (
    select
        kind,
        students_affected,
        growth_point_rank,
        action
    from {{ ref('mart_growth_points') }}
),

match_rates as (
    select
        rows,  -- noqa: RF04
        rows_matched
    from {{ ref('mart_source_match_rates') }}
),

ledger as (
    select
        status,
        is_rejected
    from {{ ref('stg_load_ledger') }}
    where status <> 'duplicate'
),

registered as (
    select distinct
        source,
        steward
    from {{ ref('int_coverage_sources') }}
),

enrolled as (
    select students_enrolled
    from {{ ref('int_coverage_enrolled_this_year') }}
),

governance as (
    select
        'governance' as framework_domain,
        1 as indicator_order,
        'data_elements_governed' as indicator,
        'share' as unit,
        cast({{ gov.get('elements_governed', 0) }} as {{ cast_to('double') }})
        / nullif({{ gov.get('elements', 0) }}, 0) as value,
        cast({{ targets['data_elements_governed'] }} as {{ cast_to('double') }}) as target,
        '{{ gov.get("elements_governed", 0) }} of {{ gov.get("elements", 0) }} canonical data '
        || 'elements have a definition, a steward and a sensitivity class'
        {%- if gov.get('ungoverned_entities') %}
        || '; no steward for {{ gov.ungoverned_entities | join(", ") }} '
        || '(no registered source feeds it)'
        {%- endif %} as detail
    union all
    select
        'governance' as framework_domain,
        2 as indicator_order,
        'sources_with_steward' as indicator,
        'share' as unit,
        cast(
            sum(
                case when steward is not null and steward <> '' then 1 else 0 end
            ) as {{ cast_to('double') }}
        )
        / nullif(count(*), 0) as value,
        cast({{ targets['sources_with_steward'] }} as {{ cast_to('double') }}) as target,
        cast(
            sum(
                case when steward is not null and steward <> '' then 1 else 0 end
            ) as {{ cast_to('string') }}
        )
        || ' of ' || cast(count(*) as {{ cast_to('string') }})
        || ' registered sources name a steward (steward: in sources/<source>.yml)' as detail
    from registered
    union all
    select
        'governance' as framework_domain,
        3 as indicator_order,
        'mart_columns_described' as indicator,
        'share' as unit,
        cast({{ gov.get('mart_columns_described', 0) }} as {{ cast_to('double') }})
        / nullif({{ gov.get('mart_columns', 0) }}, 0) as value,
        cast({{ targets['mart_columns_described'] }} as {{ cast_to('double') }}) as target,
        '{{ gov.get("mart_columns_described", 0) }} of {{ gov.get("mart_columns", 0) }} '
        || 'documented mart columns have a description (wholechild catalog lists them)'
            as detail
    union all
    select
        'governance' as framework_domain,
        4 as indicator_order,
        'pii_columns_in_marts' as indicator,
        'count' as unit,
        cast({{ pii_found | length }} as {{ cast_to('double') }}) as value,
        cast({{ targets['pii_columns_in_marts'] }} as {{ cast_to('double') }}) as target,
        {%- if pii_found | length == 0 %}
        'no mart column is named like a direct identifier (names, birth date, email, '
        || 'username, local or state id, student_ref); mart_unmatched_records is the '
        || 'stewardship exception' as detail
        {%- else %}
        'direct identifiers in marts: '
        || '{{ pii_found | join(", ") }}'
        || '; replace them by student_key' as detail
        {%- endif %}
),

growth_by_kind as (
    select
        kind,
        count(*) as growth_points,
        max(students_affected) as max_students_affected,
        min(growth_point_rank) as top_rank
    from growth_points
    group by kind
),

kinds as (
    {%- for kind in kinds %}
    select
        '{{ kind }}' as kind,
        {{ loop.index }} as kind_order
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

needs_assessment as (
    select
        'needs_assessment' as framework_domain,
        10 + kinds.kind_order as indicator_order,
        'growth_points_' || kinds.kind as indicator,
        'count' as unit,
        cast(coalesce(growth_by_kind.growth_points, 0) as {{ cast_to('double') }}) as value,
        cast(0 as {{ cast_to('double') }}) as target,
        cast(growth_by_kind.max_students_affected as {{ cast_to('double') }})
        / nullif(enrolled.students_enrolled, 0) as affected_share,
        case
            when growth_by_kind.growth_points is null
                then 'no ' || replace(kinds.kind, '_', ' ') || ' growth point'
            else
                cast(growth_by_kind.growth_points as {{ cast_to('string') }})
                || ' growth point(s); the first ('
                || coalesce(
                    cast(growth_by_kind.max_students_affected as {{ cast_to('string') }}),
                    'unknown'
                )
                || ' students affected): ' || top_point.action
        end as detail
    from kinds
    cross join enrolled
    left join growth_by_kind
        on kinds.kind = growth_by_kind.kind
    left join growth_points as top_point
        on growth_by_kind.top_rank = top_point.growth_point_rank
),

domain_totals as (
    select
        count(*) as domains,
        sum(case when is_connected then 1 else 0 end) as connected,
        sum(case when is_connected and freshness_status = 'fresh' then 1 else 0 end) as fresh
    from coverage
),

ledger_totals as (
    select
        count(*) as deliveries,
        sum(case when is_rejected then 0 else 1 end) as passed
    from ledger
),

match_totals as (
    select
        sum(rows) as student_rows,
        sum(rows_matched) as student_rows_matched
    from match_rates
),

implementation as (
    select
        'implementation' as framework_domain,
        21 as indicator_order,
        'domains_connected' as indicator,
        'share' as unit,
        cast(connected as {{ cast_to('double') }}) / nullif(domains, 0) as value,
        cast({{ targets['domains_connected'] }} as {{ cast_to('double') }}) as target,
        cast(connected as {{ cast_to('string') }}) || ' of '
        || cast(domains as {{ cast_to('string') }})
        || ' whole-child domains have a source with a published delivery' as detail
    from domain_totals
    union all
    select
        'implementation' as framework_domain,
        22 as indicator_order,
        'domains_connected_and_fresh' as indicator,
        'share' as unit,
        cast(fresh as {{ cast_to('double') }}) / nullif(domains, 0) as value,
        cast({{ targets['domains_connected_and_fresh'] }} as {{ cast_to('double') }}) as target,
        cast(fresh as {{ cast_to('string') }}) || ' of '
        || cast(domains as {{ cast_to('string') }})
        || ' domains are connected and fresh (every source within its cadence window)'
            as detail
    from domain_totals
    union all
    select
        'implementation' as framework_domain,
        23 as indicator_order,
        'contract_pass_rate' as indicator,
        'share' as unit,
        cast(passed as {{ cast_to('double') }}) / nullif(deliveries, 0) as value,
        cast({{ targets['contract_pass_rate'] }} as {{ cast_to('double') }}) as target,
        coalesce(cast(passed as {{ cast_to('string') }}), '0') || ' of '
        || cast(deliveries as {{ cast_to('string') }})
        || ' deliveries passed their contract (published, with or without quarantined rows)'
            as detail
    from ledger_totals
    union all
    select
        'implementation' as framework_domain,
        24 as indicator_order,
        'identity_match_rate' as indicator,
        'share' as unit,
        cast(student_rows_matched as {{ cast_to('double') }}) / nullif(student_rows, 0) as value,
        cast({{ targets['identity_match_rate'] }} as {{ cast_to('double') }}) as target,
        coalesce(cast(student_rows_matched as {{ cast_to('string') }}), '0') || ' of '
        || coalesce(cast(student_rows as {{ cast_to('string') }}), '0')
        || ' current student rows resolved to a roster student (mart_source_match_rates)'
            as detail
    from match_totals
),

scored as (
    select
        framework_domain,
        indicator_order,
        indicator,
        unit,
        value,
        target,
        detail,
        {{ wholechild_readiness_status(
            'value', 'target', 'target * ' ~ partial_ratio, lower_is_better=false) }} as status
    from governance
    where unit = 'share'
    union all
    select
        framework_domain,
        indicator_order,
        indicator,
        unit,
        value,
        target,
        detail,
        {{ wholechild_readiness_status('value', 'target', 'target', lower_is_better=true) }}
            as status
    from governance
    where unit = 'count'
    union all
    select
        framework_domain,
        indicator_order,
        indicator,
        unit,
        value,
        target,
        detail,
        case
            when value <= target then 'met'
            when affected_share <= {{ growth_partial_share }} then 'partial'
            else 'not_met'
        end as status
    from needs_assessment
    union all
    select
        framework_domain,
        indicator_order,
        indicator,
        unit,
        value,
        target,
        detail,
        {{ wholechild_readiness_status(
            'value', 'target', 'target * ' ~ partial_ratio, lower_is_better=false) }} as status
    from implementation
),

final as (
    select
        framework_domain,
        indicator,
        unit,
        detail,
        status,
        cast(value as {{ cast_to('double') }}) as value,
        cast(target as {{ cast_to('double') }}) as target,
        cast(indicator_order as {{ cast_to('bigint') }}) as indicator_order
    from scored
)

select * from final
