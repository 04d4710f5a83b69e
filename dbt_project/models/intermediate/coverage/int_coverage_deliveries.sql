-- Every non-duplicate delivery attributed to the registered source and entity it
-- concerns: a ledger row concerns the entities it lists (known even for a rejected
-- delivery), or every entity of its source when it lists none (an unknown file). A
-- delivery feeding several entities appears once per entity. recency = 1 is the latest
-- delivery of the source and entity. Grain: source x entity x delivery_id.
with

ledger as (
    select
        delivery_id,
        source,
        file_name,
        received_at,
        status,
        is_published,
        is_rejected,
        rows_read,
        rows_published,
        rows_quarantined,
        entities
    from {{ ref('stg_load_ledger') }}
    where status <> 'duplicate'
),

registered as (
    select
        source,
        entity,
        domain
    from {{ ref('int_coverage_sources') }}
),

attributed as (
    select
        registered.source,
        registered.entity,
        registered.domain,
        ledger.delivery_id,
        ledger.file_name,
        ledger.received_at,
        ledger.status,
        ledger.is_published,
        ledger.is_rejected,
        ledger.rows_read,
        ledger.rows_published,
        ledger.rows_quarantined
    from ledger
    inner join registered
        on
            ledger.source = registered.source
            and (
                ledger.entities = ''
                or ',' || ledger.entities || ',' like '%,' || registered.entity || ',%'
            )
),

final as (
    select
        source,
        entity,
        domain,
        delivery_id,
        file_name,
        received_at,
        status,
        is_published,
        is_rejected,
        rows_read,
        rows_published,
        rows_quarantined,
        row_number() over (
            partition by source, entity
            order by received_at desc, delivery_id desc
        ) as recency
    from attributed
)

select * from final
