-- Which enrolled students each whole-child domain sees this school year: one row per
-- domain and student enrolled in the current school year (the latest school year of
-- int_enrollment_spans) with at least one current, matched row of one of the domain's
-- entities falling in that year. How a row falls in a year comes from the generated
-- wholechild_entity_years(): a (begin, end) span overlapping the year (an open end is
-- ongoing), the entity's school_year (else the year of its event date), the school year
-- of its event date, or any year (a student record has no date).
-- Generated from the registry, so a new source or entity needs no SQL here.
-- Grain: domain x student_key.
{%- set registry_rows = wholechild_sources() if wholechild_sources is defined else [] %}
{%- set years = wholechild_entity_years() if wholechild_entity_years is defined else {} %}
{%- set feeds = [] %}
{%- for row in registry_rows %}
{%- if row.has_student_ref and row.entity in years %}
{%- do feeds.append(row) %}
{%- endif %}
{%- endfor %}
with

enrollment_spans as (
    select
        student_key,
        school_year
    from {{ ref('int_enrollment_spans') }}
),

identity as (
    select
        source,
        entity,
        student_ref,
        student_key
    from {{ ref('int_student_identity') }}
    where is_matched
),

current_year as (
    select
        max(school_year) as school_year,
        cast(
            cast(max(school_year) - 1 as {{ cast_to('string') }}) || '-07-01'
            as {{ cast_to('date') }}
        ) as year_start,
        cast(
            cast(max(school_year) as {{ cast_to('string') }}) || '-06-30'
            as {{ cast_to('date') }}
        ) as year_end
    from enrollment_spans
),

enrolled as (
    select distinct enrollment_spans.student_key
    from enrollment_spans
    inner join current_year
        on enrollment_spans.school_year = current_year.school_year
),

domain_refs as (
    {%- if feeds | length == 0 %}
    select
        cast(null as {{ cast_to('string') }}) as domain,
        cast(null as {{ cast_to('string') }}) as source,
        cast(null as {{ cast_to('string') }}) as entity,
        cast(null as {{ cast_to('string') }}) as student_ref
    from (select 1 as no_source) as no_student_feeds
    where 1 = 0
    {%- else %}
    {%- for feed in feeds %}
    select distinct
        cast('{{ feed.domain }}' as {{ cast_to('string') }}) as domain,
        feed_rows.source,
        cast('{{ feed.entity }}' as {{ cast_to('string') }}) as entity,
        feed_rows.student_ref
    from {{ ref('stg_' ~ feed.entity) }} as feed_rows
    cross join current_year
    where
        feed_rows.source = '{{ feed.source }}'
        and {{ wholechild_in_year(years[feed.entity], 'feed_rows', 'current_year') }}
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
    {%- endif %}
),

final as (
    select distinct
        domain_refs.domain,
        identity.student_key
    from domain_refs
    inner join identity
        on
            domain_refs.source = identity.source
            and domain_refs.entity = identity.entity
            and domain_refs.student_ref = identity.student_ref
    inner join enrolled
        on identity.student_key = enrolled.student_key
)

select * from final
