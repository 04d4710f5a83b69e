-- Current calendar_day rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('calendar_day') }}
),

current_rows as (
    {{ current_rows('unioned', 'calendar_day') }}
),

final as (
    select
        {{ canonical_columns('calendar_day') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
