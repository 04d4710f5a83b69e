-- Current assessment_result rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('assessment_result') }}
),

current_rows as (
    {{ current_rows('unioned', 'assessment_result') }}
),

final as (
    select
        {{ canonical_columns('assessment_result') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
