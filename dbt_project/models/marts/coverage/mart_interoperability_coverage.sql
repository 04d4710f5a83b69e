-- Interoperability coverage (METRICS.md): one row per whole-child domain, all eleven,
-- connected or not. A domain is connected when a registered source feeding one of its
-- entities has a published delivery. Rows are summed over the distinct deliveries of
-- the domain's sources (a delivery feeding two of its entities counts once). Freshness:
-- never when not connected, stale when a published source of the domain is older than
-- its cadence window, else fresh. Contract: failed when the latest delivery of a source
-- of the domain was rejected, passed when the latest deliveries passed, never without
-- one. Match and coverage rates come from identity resolution and the enrolled students
-- of the current school year. Grain: domain.
{%- set domain_rows = wholechild_domains() if wholechild_domains is defined else [] %}
with

domains as (
    {{ wholechild_values(domain_rows, [
        ['domain', 'string'],
        ['domain_position', 'bigint'],
        ['entities', 'string'],
        ['student_entities', 'string'],
        ['sources', 'string'],
        ['n_sources', 'bigint'],
    ]) }}
),

source_status as (
    select * from {{ ref('int_coverage_source_status') }}
),

deliveries as (
    select distinct
        domain,
        delivery_id,
        rows_published,
        rows_quarantined
    from {{ ref('int_coverage_deliveries') }}
),

student_domains as (
    select
        domain,
        student_key
    from {{ ref('int_coverage_student_domains') }}
),

enrolled as (
    select students_enrolled
    from {{ ref('int_coverage_enrolled_this_year') }}
),

delivery_totals as (
    select
        domain,
        sum(rows_published) as rows_published,
        sum(rows_quarantined) as rows_quarantined
    from deliveries
    group by domain
),

domain_status as (
    select
        domain,
        count(distinct case when last_published_at is not null then source end)
            as n_sources_published,
        max(last_published_at) as last_loaded_at,
        sum(case when freshness_status = 'stale' then 1 else 0 end) as stale_feeds,
        sum(case when contract_status = 'failed' then 1 else 0 end) as failed_feeds,
        sum(case when contract_status = 'passed' then 1 else 0 end) as passed_feeds,
        sum(student_rows) as student_rows,
        sum(student_rows_matched) as student_rows_matched
    from source_status
    group by domain
),

stale_sources as (
    select
        domain,
        {{ wholechild_listagg('source', "', '", 'order by source') }} as stale_sources
    from (
        select distinct
            domain,
            source
        from source_status
        where freshness_status = 'stale'
    ) as stale
    group by domain
),

failed_sources as (
    select
        domain,
        {{ wholechild_listagg('source', "', '", 'order by source') }} as failed_sources
    from (
        select distinct
            domain,
            source
        from source_status
        where contract_status = 'failed'
    ) as failed
    group by domain
),

students_seen as (
    select
        domain,
        count(*) as students_with_rows
    from student_domains
    group by domain
),

joined as (
    select
        domains.domain,
        domains.domain_position,
        domains.entities,
        domains.student_entities,
        domains.sources,
        domains.n_sources,
        domain_status.last_loaded_at,
        domain_status.student_rows,
        domain_status.student_rows_matched,
        stale_sources.stale_sources,
        failed_sources.failed_sources,
        enrolled.students_enrolled,
        coalesce(domain_status.n_sources_published, 0) as n_sources_published,
        coalesce(domain_status.stale_feeds, 0) as stale_feeds,
        coalesce(domain_status.failed_feeds, 0) as failed_feeds,
        coalesce(domain_status.passed_feeds, 0) as passed_feeds,
        coalesce(delivery_totals.rows_published, 0) as rows_published,
        coalesce(delivery_totals.rows_quarantined, 0) as rows_quarantined,
        coalesce(students_seen.students_with_rows, 0) as students_with_rows
    from domains
    cross join enrolled
    left join domain_status
        on domains.domain = domain_status.domain
    left join delivery_totals
        on domains.domain = delivery_totals.domain
    left join stale_sources
        on domains.domain = stale_sources.domain
    left join failed_sources
        on domains.domain = failed_sources.domain
    left join students_seen
        on domains.domain = students_seen.domain
),

final as (
    select
        domain,
        sources,
        entities,
        last_loaded_at,
        stale_sources,
        failed_sources,
        n_sources_published > 0 as is_connected,
        cast(domain_position as {{ cast_to('bigint') }}) as domain_position,
        cast(n_sources as {{ cast_to('bigint') }}) as n_sources,
        cast(n_sources_published as {{ cast_to('bigint') }}) as n_sources_published,
        cast(rows_published as {{ cast_to('bigint') }}) as rows_published,
        cast(rows_quarantined as {{ cast_to('bigint') }}) as rows_quarantined,
        cast(
            cast(rows_quarantined as {{ cast_to('double') }})
            / nullif(rows_published + rows_quarantined, 0)
            as {{ cast_to('double') }}
        ) as reject_rate,
        cast(
            cast(student_rows_matched as {{ cast_to('double') }}) / nullif(student_rows, 0)
            as {{ cast_to('double') }}
        ) as student_match_rate,
        cast(
            case
                when student_entities is not null
                    then
                        cast(students_with_rows as {{ cast_to('double') }})
                        / nullif(students_enrolled, 0)
            end
            as {{ cast_to('double') }}
        ) as student_coverage_rate,
        case
            when n_sources_published = 0 then 'never'
            when stale_feeds > 0 then 'stale'
            else 'fresh'
        end as freshness_status,
        case
            when failed_feeds > 0 then 'failed'
            when passed_feeds > 0 then 'passed'
            else 'never'
        end as contract_status,
        case
            when n_sources = 0
                then
                    'not connected: no registered source feeds ' || domain
                    || ' (entities: ' || entities || ')'
            when n_sources_published = 0
                then
                    'not connected: ' || sources
                    || ' registered, but no delivery has been published yet'
            when failed_feeds > 0
                then 'connected; the latest delivery of ' || failed_sources || ' was rejected'
            when stale_feeds > 0
                then 'connected; no recent delivery from ' || stale_sources
            else 'connected and fresh'
        end as detail
    from joined
)

select
    domain,
    is_connected,
    sources,
    rows_published,
    rows_quarantined,
    reject_rate,
    student_match_rate,
    student_coverage_rate,
    last_loaded_at,
    freshness_status,
    contract_status,
    domain_position,
    entities,
    n_sources,
    n_sources_published,
    stale_sources,
    failed_sources,
    detail
from final
