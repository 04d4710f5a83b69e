-- The school dimension: every school a source names, with its name and type where a
-- source sends a school record. A school seen only in enrollments still gets a row (its
-- name NULL), so every school_id of the marts can be labelled or shown as unknown. The
-- school record's district_id stays out: marts reserve that name for the student's id.
with

school_records as (
    select
        school_id,
        school_name,
        school_type,
        grade_low,
        grade_high,
        source,
        _applied_at
    from {{ ref('stg_school') }}
),

-- Two sources may both describe a school: the record applied last wins, then the source
-- name, so the choice never depends on the engine.
ranked_records as (
    select
        *,
        row_number() over (
            partition by school_id
            order by _applied_at desc, source asc
        ) as recency
    from school_records
),

latest_record as (
    select * from ranked_records
    where recency = 1
),

enrolled as (
    select
        school_id,
        min(school_year) as first_school_year,
        max(school_year) as last_school_year
    from {{ ref('int_enrollment_spans') }}
    group by school_id
),

school_ids as (
    select school_id from latest_record
    union
    select school_id from enrolled
),

final as (
    select
        ids.school_id,
        latest_record.school_name,
        latest_record.school_type,
        latest_record.grade_low,
        latest_record.grade_high,
        latest_record.source as record_source,
        enrolled.first_school_year,
        enrolled.last_school_year,
        latest_record.school_id is not null as has_school_record
    from school_ids as ids
    left join latest_record on ids.school_id = latest_record.school_id
    left join enrolled on ids.school_id = enrolled.school_id
)

select * from final
