-- Current program_participation rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('program_participation') }}
),

current_rows as (
    {{ current_rows('unioned', 'program_participation') }}
),

final as (
    select
        {{ canonical_columns('program_participation') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
