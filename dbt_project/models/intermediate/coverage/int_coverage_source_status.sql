-- What the ledger and identity resolution say about each registered source and entity:
-- deliveries and rows, the latest delivery, freshness against the source's cadence and
-- contract status (METRICS.md, "Interoperability coverage"):
--   freshness_status: never without a published delivery; stale when the newest
--     published delivery arrived more than freshness_days before the as-of instant
--     (var wholechild:coverage:as_of, default now, UTC); else fresh.
--   contract_status: never without a delivery; failed when the latest delivery was
--     rejected; else passed.
-- Student rows and matches are the current staging rows (int_student_identity).
-- Grain: source x entity.
with

registered as (
    select * from {{ ref('int_coverage_sources') }}
),

deliveries as (
    select * from {{ ref('int_coverage_deliveries') }}
),

identity as (
    select
        source,
        entity,
        student_ref,
        student_key,
        is_matched,
        n_rows
    from {{ ref('int_student_identity') }}
),

as_of as (
    select {{ wholechild_coverage_as_of() }} as as_of
),

delivery_totals as (
    select
        source,
        entity,
        count(*) as deliveries,
        sum(case when is_rejected then 1 else 0 end) as deliveries_rejected,
        sum(rows_read) as rows_read,
        sum(rows_published) as rows_published,
        sum(rows_quarantined) as rows_quarantined,
        max(received_at) as last_delivery_at,
        max(case when is_published then received_at end) as last_published_at
    from deliveries
    group by
        source,
        entity
),

latest_delivery as (
    select
        source,
        entity,
        file_name as last_delivery_file,
        status as last_delivery_status
    from deliveries
    where recency = 1
),

identity_totals as (
    select
        source,
        entity,
        count(*) as refs,
        sum(case when is_matched then 1 else 0 end) as refs_matched,
        sum(n_rows) as student_rows,
        sum(case when is_matched then n_rows else 0 end) as student_rows_matched,
        count(distinct case when is_matched then student_key end) as students_matched
    from identity
    group by
        source,
        entity
),

final as (
    select
        registered.source,
        registered.entity,
        registered.domain,
        registered.system,
        registered.steward,
        registered.cadence,
        registered.landing,
        registered.freshness_days,
        registered.id_kind,
        registered.has_student_ref,
        registered.student_ref_header,
        registered.max_reject_rate,
        registered.source_yaml,
        latest_delivery.last_delivery_file,
        latest_delivery.last_delivery_status,
        delivery_totals.last_delivery_at,
        delivery_totals.last_published_at,
        as_of.as_of,
        cast(coalesce(delivery_totals.deliveries, 0) as {{ cast_to('bigint') }}) as deliveries,
        cast(
            coalesce(delivery_totals.deliveries_rejected, 0) as {{ cast_to('bigint') }}
        ) as deliveries_rejected,
        cast(coalesce(delivery_totals.rows_read, 0) as {{ cast_to('bigint') }}) as rows_read,
        cast(
            coalesce(delivery_totals.rows_published, 0) as {{ cast_to('bigint') }}
        ) as rows_published,
        cast(
            coalesce(delivery_totals.rows_quarantined, 0) as {{ cast_to('bigint') }}
        ) as rows_quarantined,
        cast(coalesce(identity_totals.refs, 0) as {{ cast_to('bigint') }}) as refs,
        cast(coalesce(identity_totals.refs_matched, 0) as {{ cast_to('bigint') }}) as refs_matched,
        cast(coalesce(identity_totals.student_rows, 0) as {{ cast_to('bigint') }}) as student_rows,
        cast(
            coalesce(identity_totals.student_rows_matched, 0) as {{ cast_to('bigint') }}
        ) as student_rows_matched,
        cast(
            coalesce(identity_totals.students_matched, 0) as {{ cast_to('bigint') }}
        ) as students_matched,
        case
            when delivery_totals.last_published_at is null then 'never'
            when
                delivery_totals.last_published_at
                < {{ wholechild_days_before('as_of.as_of', 'registered.freshness_days') }}
                then 'stale'
            else 'fresh'
        end as freshness_status,
        case
            when latest_delivery.last_delivery_status is null then 'never'
            when latest_delivery.last_delivery_status = 'rejected' then 'failed'
            else 'passed'
        end as contract_status
    from registered
    cross join as_of
    left join delivery_totals
        on
            registered.source = delivery_totals.source
            and registered.entity = delivery_totals.entity
    left join latest_delivery
        on
            registered.source = latest_delivery.source
            and registered.entity = latest_delivery.entity
    left join identity_totals
        on
            registered.source = identity_totals.source
            and registered.entity = identity_totals.entity
)

select * from final
