-- Current attendance_event rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('attendance_event') }}
),

current_rows as (
    {{ current_rows('unioned', 'attendance_event') }}
),

final as (
    select
        {{ canonical_columns('attendance_event') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
