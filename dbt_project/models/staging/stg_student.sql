-- Current student rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('student') }}
),

current_rows as (
    {{ current_rows('unioned', 'student') }}
),

final as (
    select
        {{ canonical_columns('student') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
