-- Identity resolution: every student_ref any source carries, for every entity, matched
-- to the roster by the source's declared id kind, with the student's pseudonymous key
-- (pii.student_keys, computed in Python) or the reason it could not be matched.
-- Grain: source x entity x student_ref.
with

refs as (
    select * from {{ ref('int_student_refs') }}
),

students as (
    select * from {{ ref('stg_student') }}
),

student_keys as (
    select * from {{ source('pii', 'student_keys') }}
),

{%- set roster = wholechild_roster_source() %}
{%- set roster_name = roster.name if roster is not none else '' %}
{%- set roster_kind = roster.id_kind if roster is not none else 'local' %}
{%- set district_id_expr = 'local_id' %}
{%- if roster_kind == 'local' %}
{%- set district_id_expr = 'coalesce(local_id, student_ref)' %}
{%- endif %}

-- The roster's students, their district id (local_id, else the student_ref of a roster
-- whose id kind is local: as wholechild.identity computes the keys) and each id kind
-- normalized as the refs are.
roster as (
    select
        trim({{ district_id_expr }}) as district_id,
        {{ wholechild_normalize_ref('student_ref', "'" ~ roster_kind ~ "'") }} as roster_ref,
        trim(state_id) as state_id,
        lower(trim(email)) as email,
        lower(trim(username)) as username
    from students
    where source = '{{ roster_name }}'
),

-- One row per (id kind, value, district id). `_self` is the roster source's own
-- student_ref, which its other entities (enrollment, calendar...) carry.
roster_ids as (
    select
        id_kind,
        roster_value,
        district_id
    from (
        select
            'local' as id_kind,
            district_id as roster_value,
            district_id
        from roster
        union all
        select
            'state' as id_kind,
            state_id as roster_value,
            district_id
        from roster
        union all
        select
            'email' as id_kind,
            email as roster_value,
            district_id
        from roster
        union all
        select
            'username' as id_kind,
            username as roster_value,
            district_id
        from roster
        union all
        select
            '_self' as id_kind,
            roster_ref as roster_value,
            district_id
        from roster
    ) as ids
    where
        roster_value is not null
        and roster_value <> ''
        and district_id is not null
        and district_id <> ''
),

normalized as (
    select
        source,
        entity,
        student_ref,
        id_kind,
        {{ wholechild_normalize_ref('student_ref', 'id_kind') }} as normalized_ref,
        case when source = '{{ roster_name }}' then '_self' else id_kind end as match_kind,
        n_rows
    from refs
),

candidates as (
    select
        refs.source,
        refs.entity,
        refs.student_ref,
        count(distinct ids.district_id) as n_candidates,
        min(ids.district_id) as district_id
    from normalized as refs
    left join roster_ids as ids
        on
            refs.match_kind = ids.id_kind
            and refs.normalized_ref = ids.roster_value
    group by
        refs.source,
        refs.entity,
        refs.student_ref
),

-- Local or state ids of digits only that equal a roster id once its leading zeros are
-- dropped: the source system dropped them (a spreadsheet, a numeric column).
zero_padded as (
    select
        refs.source,
        refs.entity,
        refs.student_ref,
        count(distinct ids.district_id) as n_padded,
        min(ids.roster_value) as padded_value,
        max(length(ids.roster_value)) as padded_length
    from normalized as refs
    inner join roster_ids as ids
        on
            refs.id_kind = ids.id_kind
            and regexp_replace(refs.normalized_ref, '^0+', '')
            = regexp_replace(ids.roster_value, '^0+', '')
            and length(ids.roster_value) > length(refs.normalized_ref)
    where
        refs.id_kind in ('local', 'state')
        -- the ingest pads digit-only ids (pad_to), so only those get the hint
        and refs.normalized_ref <> ''
        and translate(refs.normalized_ref, '0123456789', '') = ''
    group by
        refs.source,
        refs.entity,
        refs.student_ref
),

-- Unmatched refs that equal a roster id of another kind: the YAML declares the wrong kind.
other_kind as (
    select
        refs.source,
        refs.entity,
        refs.student_ref,
        min(ids.id_kind) as other_id_kind
    from normalized as refs
    inner join roster_ids as ids
        on
            refs.id_kind <> ids.id_kind
            and lower(refs.normalized_ref) = lower(ids.roster_value)
    where ids.id_kind <> '_self'
    group by
        refs.source,
        refs.entity,
        refs.student_ref
),

resolved as (
    select
        refs.source,
        refs.entity,
        refs.student_ref,
        refs.id_kind,
        refs.normalized_ref,
        refs.match_kind,
        refs.n_rows,
        candidates.n_candidates,
        zero_padded.n_padded,
        zero_padded.padded_value,
        zero_padded.padded_length,
        other_kind.other_id_kind,
        case when candidates.n_candidates = 1 then candidates.district_id end as district_id,
        case when candidates.n_candidates = 1 then student_keys.student_key end as student_key
    from normalized as refs
    inner join candidates
        on
            refs.source = candidates.source
            and refs.entity = candidates.entity
            and refs.student_ref = candidates.student_ref
    left join zero_padded
        on
            refs.source = zero_padded.source
            and refs.entity = zero_padded.entity
            and refs.student_ref = zero_padded.student_ref
    left join other_kind
        on
            refs.source = other_kind.source
            and refs.entity = other_kind.entity
            and refs.student_ref = other_kind.student_ref
    left join student_keys
        on candidates.district_id = student_keys.district_id
),

final as (
    select
        source,
        entity,
        student_ref,
        id_kind,
        normalized_ref,
        case when student_key is not null then district_id end as district_id,
        student_key,
        coalesce(student_key is not null, false) as is_matched,
        case
            when student_key is not null then null
            when normalized_ref is null or normalized_ref = ''
                then
                    'blank id: the ' || source || ' export left the student id empty; '
                    || 'fill it in at the source system'
            when n_candidates > 1
                then
                    'several roster students share this '
                    || {{ wholechild_id_kind_label('id_kind') }}
                    || ' (''' || normalized_ref || '''); give each student a distinct '
                    || {{ wholechild_id_kind_label('id_kind') }}
                    || ' in the roster, or have ' || source || ' send another id kind'
            when n_candidates = 1
                then
                    'the roster student was found, but pii.student_keys has no key for '
                    || 'them: run the build again so the keys are recomputed'
            when n_padded = 1
                then
                    'matches roster ' || {{ wholechild_id_kind_label('id_kind') }}
                    || ' ''' || padded_value || ''' once leading zeros are restored: '
                    || 'set student_id: {kind: ' || id_kind || ', pad_to: '
                    || cast(padded_length as {{ cast_to('string') }})
                    || '} in sources/' || source || '.yml'
            when match_kind = '_self'
                then
                    'the roster source lists this student in ' || entity
                    || ' but not in its student file (''' || normalized_ref
                    || '''): fix the roster export so every student it names is listed'
            when other_id_kind is not null
                then
                    'no roster student has ' || {{ wholechild_id_kind_label('id_kind') }}
                    || ' ''' || normalized_ref || ''', but a roster student has it as '
                    || {{ wholechild_id_kind_label('other_id_kind') }}
                    || ': set student_id: ' || other_id_kind || ' in sources/'
                    || source || '.yml if that is the id this source carries'
            else
                'no roster student has ' || {{ wholechild_id_kind_label('id_kind') }}
                || ' ''' || normalized_ref || ''': correct the id in ' || source
                || ', or add the student to the roster if they are new'
        end as reason,
        n_rows
    from resolved
)

select * from final
