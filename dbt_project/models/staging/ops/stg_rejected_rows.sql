-- Every quarantined row and broken rule, from the quarantine view over the lake
-- (wholechild.warehouse). Holds raw records: counted downstream, never copied to a mart.
-- Grain: delivery x row x rule.
with

rejected_rows as (
    select * from {{ source('quarantine', 'rejected_rows') }}
),

final as (
    select
        delivery_id,
        source,
        entity,
        row_number,
        rule,
        column_name,
        value,
        record,
        message
    from rejected_rows
)

select * from final
