{#-
    Generic test: every non-NULL value of the column lies between min_value and
    max_value (inclusive). Each failing row is one offending value with n_rows.

    What it checks and how to resolve a failure are said in each use's description
    (a share above 1 is a numerator counted over more rows than its denominator, etc.).

        data_tests:
          - value_between:
              arguments:
                min_value: 0
                max_value: 1
-#}
{% test value_between(model, column_name, min_value, max_value) %}

select
    {{ column_name }} as value,
    count(*) as n_rows
from {{ model }}
where
    {{ column_name }} < {{ min_value }}
    or {{ column_name }} > {{ max_value }}
group by {{ column_name }}

{% endtest %}
