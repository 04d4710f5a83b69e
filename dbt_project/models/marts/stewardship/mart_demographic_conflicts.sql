-- Where another source's student record disagrees with the roster on a demographic
-- (PRODUCT.md: the roster wins and the conflict is listed for the steward). One row per
-- student, demographic and disagreeing source, with both values; a value missing on
-- either side is not a conflict (dim_student fills a roster gap from the other source).
-- Names and birth dates are left out: they are direct identifiers, and a name spelled
-- differently is identity work (mart_unmatched_records), not a demographic conflict.
-- student_key only, no source ids: safe to share. Grain: student_key x demographic x source
-- x roster_value x source_value (a source holding one student twice lists each value).
{%- set roster = wholechild_roster_source() %}
{%- set roster_name = roster.name if roster is not none else '' %}
{%- set demographics = [
    'sex',
    'hispanic_latino',
    'race_american_indian_alaska_native',
    'race_asian',
    'race_black',
    'race_native_hawaiian_pacific_islander',
    'race_white',
    'race_two_or_more',
    'race_ethnicity',
    'grade_level',
] %}
with

keyed as (
    select
        student_key,
        source,
        {{ demographics | join(',\n        ') }}
    from {{ ref('int_student_records') }}
),

demographics_long as (
    -- One row per matched student record and demographic, the value as text.
    {%- for column in demographics %}
    select
        student_key,
        source,
        cast('{{ column }}' as {{ cast_to('string') }}) as demographic,
        cast({{ column }} as {{ cast_to('string') }}) as demographic_value
    from keyed
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

conflicts as (
    select distinct
        roster.student_key,
        roster.demographic,
        roster.source as roster_source,
        roster.demographic_value as roster_value,
        other.source,
        other.demographic_value as source_value
    from demographics_long as roster
    inner join demographics_long as other
        on
            roster.student_key = other.student_key
            and roster.demographic = other.demographic
    where
        roster.source = '{{ roster_name }}'
        and other.source <> '{{ roster_name }}'
        and roster.demographic_value <> other.demographic_value
)

select * from conflicts
