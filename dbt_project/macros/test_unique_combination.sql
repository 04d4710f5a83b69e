{#-
    Generic test: no two rows of the model share the same values of `columns`.

    What it checks: the combination of `columns` (for staging: source + the entity's key
    from its contract) identifies at most one row. NULLs compare equal, as the contracts'
    rule for optional key columns does. Each failing row is one duplicated combination
    with n_rows, the number of rows sharing it.

    How to resolve a failure: a staging duplicate means "latest delivery wins" kept two
    rows for one key, which happens only when one delivery holds the key twice (the
    ingest rejects such files, so look for a delivery written outside the ingest under
    lake/raw/<source>/) or when the contract's key changed without reprocessing the
    source: fix the key in schemas/<entity>.py or run
    `wholechild reprocess --source <source>`. In a mart, the grain stated in its docs is
    broken: look for a join that fans out.

        data_tests:
          - unique_combination:
              arguments:
                columns: [source, school_id]
-#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(',\n    ') }},
    count(*) as n_rows
from {{ model }}
group by
    {{ columns | join(',\n    ') }}
having count(*) > 1

{% endtest %}
