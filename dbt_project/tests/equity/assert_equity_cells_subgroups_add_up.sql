-- Fails for every school year, scope, metric and dimension of int_equity_cells whose
-- subgroups do not add up to the scope's population and outcomes: a student whose
-- subgroup code is missing from macros/equity_rules.sql would be lost from the grid.
select
    school_year,
    scope,
    school_id,
    metric,
    dimension,
    sum(n_students) as subgroup_students,
    max(all_n_students) as all_students,
    sum(n_outcome) as subgroup_outcome,
    max(all_n_outcome) as all_outcome
from {{ ref('int_equity_cells') }}
group by
    school_year,
    scope,
    school_id,
    metric,
    dimension
having
    sum(n_students) <> max(all_n_students)
    or sum(n_outcome) <> max(all_n_outcome)
