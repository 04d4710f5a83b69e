-- Current discipline_incident rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('discipline_incident') }}
),

current_rows as (
    {{ current_rows('unioned', 'discipline_incident') }}
),

final as (
    select
        {{ canonical_columns('discipline_incident') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
