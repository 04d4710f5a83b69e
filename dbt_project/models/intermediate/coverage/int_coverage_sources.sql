-- The registry as the coverage models see it: one row per registered source and entity
-- it feeds (generated from sources/*.yml by orchestration/dbt_prepare.py into
-- wholechild_sources()), with the freshness window of the source's cadence (var
-- wholechild:coverage:freshness_days). Grain: source x entity.
{%- set windows = var('wholechild:coverage:freshness_days') %}
{%- set registry_rows = wholechild_sources() if wholechild_sources is defined else [] %}
with

registered as (
    {{ wholechild_values(registry_rows, [
        ['source', 'string'],
        ['system', 'string'],
        ['source_format', 'string'],
        ['entity', 'string'],
        ['domain', 'string'],
        ['steward', 'string'],
        ['cadence', 'string'],
        ['landing', 'string'],
        ['id_kind', 'string'],
        ['has_student_ref', 'boolean'],
        ['student_ref_header', 'string'],
        ['max_reject_rate', 'double'],
        ['is_roster', 'boolean'],
        ['source_yaml', 'string'],
    ]) }}
),

final as (
    select
        source,
        system,
        source_format,
        entity,
        domain,
        steward,
        cadence,
        landing,
        id_kind,
        has_student_ref,
        student_ref_header,
        max_reject_rate,
        is_roster,
        source_yaml,
        cast(
            case cadence
                {%- for cadence in ['daily', 'weekly', 'monthly', 'term', 'yearly'] %}
                when '{{ cadence }}' then {{ windows[cadence] }}
                {%- endfor %}
            end
            as {{ cast_to('bigint') }}
        ) as freshness_days
    from registered
)

select * from final
