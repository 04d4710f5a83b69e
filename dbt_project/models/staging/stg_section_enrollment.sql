-- Current section_enrollment rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('section_enrollment') }}
),

current_rows as (
    {{ current_rows('unioned', 'section_enrollment') }}
),

final as (
    select
        {{ canonical_columns('section_enrollment') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
