-- Growth points (METRICS.md, Data readiness: needs assessment): every gap the platform
-- can see in its own metadata, one row each, with the students it affects and one
-- sentence saying what to do, ranked by students affected (1 = most):
--   unconnected_domain  a domain no source publishes to; affects every enrolled student
--   low_match_rate      a source and entity whose student ids do not all resolve (match
--                       rate below var wholechild:coverage:min_match_rate); affects the
--                       unresolved ids
--   stale_source        a source whose newest published delivery is older than its
--                       cadence window, or that never published in a connected domain;
--                       affects the students its rows reach (every enrolled student for
--                       a source without student rows or without any delivery)
--   high_reject_rate    a source whose share of quarantined rows (rejected deliveries
--                       included) is over its YAML's quality.max_reject_rate; affects the
--                       students its quarantined rows name (NULL when only whole files
--                       were rejected, so no row names a student)
--   unmapped_codes      a source value with no code mapping; affects the students named
--                       by the quarantined rows
-- Counts of students only; no ids. Grain: kind x domain x source x entity.
{%- set min_match_rate = var('wholechild:coverage:min_match_rate') %}
with

coverage as (
    select
        domain,
        is_connected,
        sources,
        entities
    from {{ ref('mart_interoperability_coverage') }}
),

source_status as (
    select * from {{ ref('int_coverage_source_status') }}
),

deliveries as (
    select * from {{ ref('int_coverage_deliveries') }}
),

rejected_rows as (
    select
        source,
        entity,
        rule,
        column_name,
        value,
        record
    from {{ ref('stg_rejected_rows') }}
),

enrolled as (
    select students_enrolled
    from {{ ref('int_coverage_enrolled_this_year') }}
),

registered as (
    select distinct
        source,
        entity,
        landing,
        steward,
        student_ref_header
    from source_status
),

-- The student id of each quarantined row, read from its raw record by the header the
-- source maps to student_ref (NULL for file rules and standard formats).
quarantined_refs as (
    select
        rejected_rows.source,
        rejected_rows.entity,
        rejected_rows.rule,
        rejected_rows.column_name,
        rejected_rows.value,
        trim(
            {{ wholechild_json_text('rejected_rows.record', 'registered.student_ref_header') }}
        ) as student_ref
    from rejected_rows
    left join registered
        on
            rejected_rows.source = registered.source
            and rejected_rows.entity = registered.entity
),

unconnected as (
    select
        'unconnected_domain' as kind,
        coverage.domain,
        cast(null as {{ cast_to('string') }}) as source,
        cast(null as {{ cast_to('string') }}) as entity,
        enrolled.students_enrolled as students_affected,
        cast(null as {{ cast_to('double') }}) as metric_value,
        case
            when coverage.sources is null
                then
                    'connect domain ' || coverage.domain || ': add sources/<system>.yml with '
                    || 'entity ' || replace(coverage.entities, ', ', ' or entity ')
                    || ' (wholechild add-source <system> --sample <export>)'
            else
                'connect domain ' || coverage.domain || ': ' || coverage.sources
                || ' registered but nothing published yet; land a delivery in its landing '
                || 'folder and check it with wholechild validate'
        end as action
    from coverage
    cross join enrolled
    where not coverage.is_connected
),

low_match as (
    select
        'low_match_rate' as kind,
        domain,
        source,
        entity,
        refs - refs_matched as students_affected,
        cast(student_rows_matched as {{ cast_to('double') }}) / student_rows as metric_value,
        'fix the id mapping of source ' || source || ': '
        || cast(refs - refs_matched as {{ cast_to('string') }}) || ' '
        || case id_kind
            when 'local' then 'local id'
            when 'state' then 'state id'
            else id_kind
        end
        || case when refs - refs_matched = 1 then ' does' else 's do' end
        || ' not resolve to a roster student in ' || entity
        || ' (marts.mart_unmatched_records lists them with the fix)' as action
    from source_status
    where
        student_rows > 0
        and cast(student_rows_matched as {{ cast_to('double') }}) / student_rows
        < {{ min_match_rate }}
),

stale_by_source as (
    select
        source_status.source,
        source_status.domain,
        max(source_status.freshness_days) as freshness_days,
        max(source_status.cadence) as cadence,
        max(source_status.steward) as steward,
        max(source_status.last_published_at) as last_published_at,
        max(source_status.as_of) as as_of,
        max(case when source_status.has_student_ref then 1 else 0 end) as has_student_rows,
        max(source_status.students_matched) as students_matched,
        max(case when source_status.freshness_status = 'stale' then 1 else 0 end) as any_stale,
        min(case when source_status.freshness_status = 'never' then 1 else 0 end) as all_never
    from source_status
    inner join coverage
        on source_status.domain = coverage.domain
    where coverage.is_connected
    group by
        source_status.source,
        source_status.domain
),

stale as (
    select
        'stale_source' as kind,
        stale_by_source.domain,
        stale_by_source.source,
        cast(null as {{ cast_to('string') }}) as entity,
        case
            when stale_by_source.all_never = 0 and stale_by_source.has_student_rows = 1
                then stale_by_source.students_matched
            else enrolled.students_enrolled
        end as students_affected,
        cast(
            {{ wholechild_days_between(
                'stale_by_source.last_published_at', 'stale_by_source.as_of'
            ) }}
            as {{ cast_to('double') }}
        ) as metric_value,
        case
            when stale_by_source.all_never = 1
                then
                    'source ' || stale_by_source.source || ' has never published a delivery; '
                    || 'ask ' || stale_by_source.steward || ' for its first '
                    || stale_by_source.cadence || ' export'
            else
                'source ' || stale_by_source.source || ' is stale: its newest published '
                || 'delivery arrived ' || cast(
                    cast(stale_by_source.last_published_at as {{ cast_to('date') }})
                    as {{ cast_to('string') }}
                )
                || ', longer ago than its ' || stale_by_source.cadence || ' window of '
                || cast(stale_by_source.freshness_days as {{ cast_to('string') }})
                || case when stale_by_source.freshness_days = 1 then ' day' else ' days' end
                || '; ask ' || stale_by_source.steward || ' for a new export'
        end as action
    from stale_by_source
    cross join enrolled
    where stale_by_source.any_stale = 1 or stale_by_source.all_never = 1
),

source_deliveries as (
    select distinct
        source,
        delivery_id,
        is_rejected,
        rows_read,
        rows_quarantined
    from deliveries
),

reject_totals as (
    select
        source,
        count(*) as deliveries,
        sum(case when is_rejected then 1 else 0 end) as deliveries_rejected,
        sum(rows_read) as rows_read,
        sum(rows_quarantined) as rows_quarantined
    from source_deliveries
    group by source
),

source_facts as (
    select
        source,
        min(domain) as domain,
        max(max_reject_rate) as max_reject_rate
    from source_status
    group by source
),

quarantined_students as (
    select
        source,
        count(distinct student_ref) as students
    from quarantined_refs
    where student_ref is not null and student_ref <> ''
    group by source
),

high_reject as (
    select
        'high_reject_rate' as kind,
        source_facts.domain,
        reject_totals.source,
        cast(null as {{ cast_to('string') }}) as entity,
        quarantined_students.students as students_affected,
        cast(reject_totals.rows_quarantined as {{ cast_to('double') }})
        / reject_totals.rows_read as metric_value,
        'reduce the rejects of source ' || reject_totals.source || ': '
        || cast(reject_totals.rows_quarantined as {{ cast_to('string') }}) || ' of '
        || cast(reject_totals.rows_read as {{ cast_to('string') }})
        || ' delivered rows were quarantined ('
        || cast(reject_totals.deliveries_rejected as {{ cast_to('string') }}) || ' of '
        || cast(reject_totals.deliveries as {{ cast_to('string') }})
        || ' deliveries rejected), over the share its YAML tolerates; read the reports in '
        || 'rejected/' || reject_totals.source || '/ and fix the export' as action
    from reject_totals
    inner join source_facts
        on reject_totals.source = source_facts.source
    left join quarantined_students
        on reject_totals.source = quarantined_students.source
    where
        reject_totals.rows_read > 0
        and cast(reject_totals.rows_quarantined as {{ cast_to('double') }})
        / reject_totals.rows_read > source_facts.max_reject_rate
),

unmapped_values as (
    select
        source,
        entity,
        column_name,
        value,
        count(*) as n_rows,
        row_number() over (
            partition by source, entity, column_name
            order by count(*) desc, value asc
        ) as value_rank
    from quarantined_refs
    where rule = 'unmapped_code'
    group by
        source,
        entity,
        column_name,
        value
),

unmapped_students as (
    select
        source,
        entity,
        column_name,
        count(distinct case when student_ref <> '' then student_ref end) as students,
        count(*) as n_rows
    from quarantined_refs
    where rule = 'unmapped_code'
    group by
        source,
        entity,
        column_name
),

unmapped_lists as (
    select
        source,
        entity,
        column_name,
        count(*) as n_values,
        {{ wholechild_listagg(
            "case when value_rank <= 5 then '''' || value || '''' end",
            "', '",
            'order by value_rank'
        ) }} as shown_values
    from unmapped_values
    group by
        source,
        entity,
        column_name
),

unmapped as (
    select
        'unmapped_codes' as kind,
        source_status.domain,
        unmapped_lists.source,
        unmapped_lists.entity,
        unmapped_students.students as students_affected,
        cast(unmapped_students.n_rows as {{ cast_to('double') }}) as metric_value,
        'map the codes of source ' || unmapped_lists.source || ': ' || unmapped_lists.column_name
        || ' value(s) ' || unmapped_lists.shown_values
        || case when unmapped_lists.n_values > 5 then ' and more' else '' end
        || ' have no mapping; add them under codes.' || unmapped_lists.column_name
        || ' in sources/' || source_status.source_yaml || ', then wholechild reprocess --source '
        || unmapped_lists.source as action
    from unmapped_lists
    inner join unmapped_students
        on
            unmapped_lists.source = unmapped_students.source
            and unmapped_lists.entity = unmapped_students.entity
            and unmapped_lists.column_name = unmapped_students.column_name
    inner join source_status
        on
            unmapped_lists.source = source_status.source
            and unmapped_lists.entity = source_status.entity
),

growth_points as (
    select * from unconnected
    union all
    select * from low_match
    union all
    select * from stale
    union all
    select * from high_reject
    union all
    select * from unmapped
),

ranked as (
    select
        kind,
        domain,
        source,
        entity,
        action,
        students_affected,
        metric_value,
        row_number() over (
            order by
                coalesce(students_affected, -1) desc,
                kind asc,
                domain asc,
                source asc,
                entity asc
        ) as position_by_students
    from growth_points
),

final as (
    select
        kind,
        domain,
        source,
        entity,
        action,
        cast(position_by_students as {{ cast_to('bigint') }}) as growth_point_rank,
        cast(students_affected as {{ cast_to('bigint') }}) as students_affected,
        cast(metric_value as {{ cast_to('double') }}) as metric_value
    from ranked
)

select * from final
