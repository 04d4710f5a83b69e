{#-
    Generic test: `expression` (a boolean SQL expression over the model's columns) holds
    on every row. Each failing row is returned whole.

    What it checks and how to resolve a failure are said in each use's description.

        data_tests:
          - expression_is_true:
              arguments:
                expression: "status <> 'no_data' or value is null"
-#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
