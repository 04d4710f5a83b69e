{#-
    Generic test: no two rows of the model with the same `partition_by` columns cover a
    common day, where a row covers `start_column` through `end_column` (inclusive; a NULL
    end is open and runs forever). Each failing row is one overlapping pair.

    What it checks: spans meant to be merged (an enrollment span per student and school)
    are disjoint, so a day inside them is counted once (teamster #5192: overlapping
    enrollments double-counted attendance). How to resolve a failure: the merge of the
    model producing the spans missed a case (look at the pair's dates), or its partition
    differs from `partition_by`.

        data_tests:
          - no_overlapping_spans:
              arguments:
                partition_by: [student_key, school_id]
                start_column: entry_date
                end_column: exit_date
-#}
{% test no_overlapping_spans(model, partition_by, start_column, end_column) %}

with

spans as (
    select
        {{ partition_by | join(',\n        ') }},
        {{ start_column }} as span_start,
        {{ end_column }} as span_end,
        row_number() over (
            partition by {{ partition_by | join(', ') }}
            order by {{ start_column }}, {{ end_column }}
        ) as span_number
    from {{ model }}
)

select
    {%- for column in partition_by %}
    earlier.{{ column }},
    {%- endfor %}
    earlier.span_start as earlier_start,
    earlier.span_end as earlier_end,
    later.span_start as later_start,
    later.span_end as later_end
from spans as earlier
inner join spans as later
    on
        {%- for column in partition_by %}
        earlier.{{ column }} = later.{{ column }}
        and
        {%- endfor %}
        earlier.span_number < later.span_number
where
    (earlier.span_end is null or later.span_start <= earlier.span_end)
    and (later.span_end is null or earlier.span_start <= later.span_end)

{% endtest %}
