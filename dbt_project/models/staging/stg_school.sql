-- Current school rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('school') }}
),

current_rows as (
    {{ current_rows('unioned', 'school') }}
),

final as (
    select
        {{ canonical_columns('school') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
