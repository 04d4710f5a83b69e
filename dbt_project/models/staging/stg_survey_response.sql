-- Current survey_response rows of every source that feeds it (latest delivery wins).
with

unioned as (
    {{ union_raw('survey_response') }}
),

current_rows as (
    {{ current_rows('unioned', 'survey_response') }}
),

final as (
    select
        {{ canonical_columns('survey_response') }},
        source,
        _delivery_id,
        _applied_at
    from current_rows
)

select * from final
