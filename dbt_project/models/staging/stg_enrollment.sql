-- Current enrollment rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('enrollment') }}
),

current_rows as (
    {{ current_rows('unioned', 'enrollment') }}
),

final as (
    select
        {{ canonical_columns('enrollment') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
