-- The student ids no roster student could be matched to, for the data steward: one row
-- per source, entity and student_ref that did not resolve, with what to do about it and
-- how many current rows it holds back from the marts. The one mart that shows source ids
-- (PRODUCT.md); never copied to share/. Grain: source x entity x student_ref.
with

identity as (
    select
        source,
        entity,
        student_ref,
        reason,
        n_rows,
        is_matched
    from {{ ref('int_student_identity') }}
),

final as (
    select
        source,
        entity,
        student_ref,
        reason,
        cast(n_rows as {{ cast_to('bigint') }}) as n_rows
    from identity
    where not is_matched
)

select * from final
