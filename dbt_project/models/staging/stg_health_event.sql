-- Current health_event rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('health_event') }}
),

current_rows as (
    {{ current_rows('unioned', 'health_event') }}
),

final as (
    select
        {{ canonical_columns('health_event') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
