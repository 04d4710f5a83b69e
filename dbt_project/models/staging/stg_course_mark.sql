-- Current course_mark rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('course_mark') }}
),

current_rows as (
    {{ current_rows('unioned', 'course_mark') }}
),

final as (
    select
        {{ canonical_columns('course_mark') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
