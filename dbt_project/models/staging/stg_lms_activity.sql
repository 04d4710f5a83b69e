-- Current lms_activity rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('lms_activity') }}
),

current_rows as (
    {{ current_rows('unioned', 'lms_activity') }}
),

final as (
    select
        {{ canonical_columns('lms_activity') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
