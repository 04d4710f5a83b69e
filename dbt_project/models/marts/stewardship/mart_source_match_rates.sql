-- How well each source's student ids match the roster, per source and entity: distinct
-- ids and current rows, matched and in total. match_rate is the share of rows matched
-- (rows, not ids: it is the share of the source's data the marts can use). No ids: safe
-- to share. Grain: source x entity.
with

identity as (
    select
        source,
        entity,
        id_kind,
        is_matched,
        n_rows
    from {{ ref('int_student_identity') }}
),

per_source as (
    select
        source,
        entity,
        min(id_kind) as id_kind,
        count(*) as refs,
        sum(case when is_matched then 1 else 0 end) as refs_matched,
        sum(n_rows) as n_rows,
        sum(case when is_matched then n_rows else 0 end) as rows_matched
    from identity
    group by
        source,
        entity
),

final as (
    select
        source,
        entity,
        id_kind,
        cast(refs as {{ cast_to('bigint') }}) as refs,
        cast(refs_matched as {{ cast_to('bigint') }}) as refs_matched,
        cast(n_rows as {{ cast_to('bigint') }}) as rows,  -- noqa: RF04
        cast(rows_matched as {{ cast_to('bigint') }}) as rows_matched,
        cast(
            cast(rows_matched as {{ cast_to('double') }}) / nullif(n_rows, 0)
            as {{ cast_to('double') }}
        ) as match_rate
    from per_source
)

select * from final
