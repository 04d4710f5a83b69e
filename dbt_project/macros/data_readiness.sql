{#-
    Mart columns named like a direct identifier (PII kept out of marts, METRICS.md,
    Data readiness: governance), as a list of 'mart.column' strings.

    `pii_names` are the contracts' pii_direct column names and district_id, and
    `exempt` the marts allowed to carry them (mart_unmatched_records), both from the
    generated wholechild_governance(). A mart's columns are those its YAML documents
    (the dbt graph) plus, at run time, those its built relation has (adapter
    introspection, so an undocumented column is judged too). Empty at parse time and
    when linting (no graph, no adapter).
-#}
{% macro wholechild_pii_mart_columns(pii_names, exempt) -%}
    {%- if not execute or graph is not defined -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set found = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.fqn | length > 2
              and node.fqn[1] == 'marts' and node.name not in exempt -%}
            {%- set names = [] -%}
            {%- for column in node.columns.values() -%}
                {%- do names.append(column.name | lower) -%}
            {%- endfor -%}
            {%- set relation = adapter.get_relation(
                database=node.database, schema=node.schema, identifier=node.alias) -%}
            {%- if relation is not none -%}
                {%- for column in adapter.get_columns_in_relation(relation) -%}
                    {%- if column.name | lower not in names -%}
                        {%- do names.append(column.name | lower) -%}
                    {%- endif -%}
                {%- endfor -%}
            {%- endif -%}
            {%- for name in names | sort -%}
                {%- if name in pii_names -%}
                    {%- do found.append(node.name ~ '.' ~ name) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found | sort) }}
{%- endmacro %}


{#-
    The status of a readiness indicator: met, partial or not_met (no_data without a
    value). Higher is better unless `lower_is_better`; `partial` is the bound below
    which (or above which, for lower-is-better) the indicator is not met.
-#}
{% macro wholechild_readiness_status(value, target, partial, lower_is_better=false) -%}
    case
        when {{ value }} is null then 'no_data'
        {%- if lower_is_better %}
        when {{ value }} <= {{ target }} then 'met'
        when {{ value }} <= {{ partial }} then 'partial'
        {%- else %}
        when {{ value }} >= {{ target }} then 'met'
        when {{ value }} >= {{ partial }} then 'partial'
        {%- endif %}
        else 'not_met'
    end
{%- endmacro %}
