-- Current staff_assignment rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('staff_assignment') }}
),

current_rows as (
    {{ current_rows('unioned', 'staff_assignment') }}
),

final as (
    select
        {{ canonical_columns('staff_assignment') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
