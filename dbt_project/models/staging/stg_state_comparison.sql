-- Current state_comparison rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('state_comparison') }}
),

current_rows as (
    {{ current_rows('unioned', 'state_comparison') }}
),

final as (
    select
        {{ canonical_columns('state_comparison') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
