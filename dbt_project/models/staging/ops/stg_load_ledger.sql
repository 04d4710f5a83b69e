-- Every delivery the ingest processed, from the ledger view over the lake
-- (wholechild.warehouse), with received_at in UTC and the flags coverage judges by.
-- Grain: delivery_id.
with

ledger as (
    select * from {{ source('ops', 'load_ledger') }}
),

final as (
    select
        delivery_id,
        source,
        file_name,
        {{ wholechild_utc_timestamp('received_at') }} as received_at,
        rows_read,
        rows_published,
        rows_quarantined,
        status,
        reason,
        coalesce(entities, '') as entities,
        applied_at,
        coalesce(status in ('published', 'published_with_quarantine'), false) as is_published,
        coalesce(status = 'rejected', false) as is_rejected
    from ledger
)

select * from final
