-- The student dimension: one row per student and school year they were enrolled
-- (int_enrollment_spans: no-shows and invalid enrollments dropped). school_id and
-- grade_level come from the latest enrollment that year. Demographics come from the
-- roster (the source marked roster: true); another source feeding `student` only fills
-- what the roster leaves empty (the roster wins where sources disagree). race_ethnicity
-- follows METRICS.md: hispanic_latino first, then two_or_more (two or more race flags,
-- or the two-or-more flag), then the single race, then the source's single race code,
-- else unknown. The yes/no program columns are the equity marts' subgroup codes: a
-- student is in a program for a year when a participation span overlaps that year's
-- enrollment (fct_student_program_year). No names, ids or birth dates: student_key only.
-- Grain: student_key x school_year.
{%- set roster = wholechild_roster_source() %}
{%- set roster_name = roster.name if roster is not none else '' %}
with

enrollment_spans as (
    select
        student_key,
        school_id,
        school_year,
        entry_date,
        exit_date,
        grade_level
    from {{ ref('int_enrollment_spans') }}
),

students as (
    select
        student_key,
        source,
        sex,
        hispanic_latino,
        race_american_indian_alaska_native,
        race_asian,
        race_black,
        race_native_hawaiian_pacific_islander,
        race_white,
        race_two_or_more,
        race_ethnicity,
        _applied_at
    from {{ ref('int_student_records') }}
),

programs as (
    select
        student_key,
        school_year,
        program,
        disability_category
    from {{ ref('fct_student_program_year') }}
),

latest_enrollment as (
    select
        student_key,
        school_year,
        school_id,
        grade_level,
        row_number() over (
            partition by student_key, school_year
            order by
                entry_date desc,
                coalesce(exit_date, cast('9999-12-31' as {{ cast_to('date') }})) desc,
                school_id desc
        ) as recency
    from enrollment_spans
),

schools_per_year as (
    select
        student_key,
        school_year,
        count(distinct school_id) as schools_enrolled
    from enrollment_spans
    group by
        student_key,
        school_year
),

student_rows as (
    select
        students.student_key,
        students.source,
        students._applied_at,
        students.sex,
        case
            when students.hispanic_latino then 'hispanic_latino'
            when
                students.race_two_or_more
                or (
                    case when students.race_american_indian_alaska_native then 1 else 0 end
                    + case when students.race_asian then 1 else 0 end
                    + case when students.race_black then 1 else 0 end
                    + case when students.race_native_hawaiian_pacific_islander then 1 else 0 end
                    + case when students.race_white then 1 else 0 end
                ) >= 2
                then 'two_or_more'
            when students.race_american_indian_alaska_native then 'american_indian_alaska_native'
            when students.race_asian then 'asian'
            when students.race_black then 'black'
            when students.race_native_hawaiian_pacific_islander
                then 'native_hawaiian_pacific_islander'
            when students.race_white then 'white'
            when
                students.race_ethnicity in (
                    'hispanic_latino',
                    'two_or_more',
                    'american_indian_alaska_native',
                    'asian',
                    'black',
                    'native_hawaiian_pacific_islander',
                    'white'
                )
                then students.race_ethnicity
        end as race_ethnicity,
        case when students.source = '{{ roster_name }}' then 0 else 1 end as priority
    from students
),

ranked_rows as (
    -- The roster's row first, then the other sources' rows, latest delivery first.
    select
        student_key,
        sex,
        race_ethnicity,
        row_number() over (
            partition by student_key
            order by priority asc, _applied_at desc, source asc
        ) as rank_sex,
        row_number() over (
            partition by student_key
            order by
                case when race_ethnicity is null then 1 else 0 end asc,
                priority asc,
                _applied_at desc,
                source asc
        ) as rank_race
    from student_rows
),

demographics as (
    select
        student_key,
        coalesce(
            max(case when rank_sex = 1 then sex end),
            max(sex)
        ) as sex,
        max(case when rank_race = 1 then race_ethnicity end) as race_ethnicity
    from ranked_rows
    group by student_key
),

program_flags as (
    select
        student_key,
        school_year,
        max(case when program = 'special_education' then 1 else 0 end) as special_education,
        max(case when program = 'english_learner' then 1 else 0 end) as english_learner,
        max(
            case when program = 'economically_disadvantaged' then 1 else 0 end
        ) as economically_disadvantaged,
        max(case when program = 'homeless' then 1 else 0 end) as homeless,
        max(case when program = 'foster_care' then 1 else 0 end) as foster_care,
        max(case when program = 'gifted' then 1 else 0 end) as gifted,
        max(case when program = 'section_504' then 1 else 0 end) as section_504,
        max(case when program = 'migrant' then 1 else 0 end) as migrant,
        max(
            case when program = 'special_education' then disability_category end
        ) as disability_category
    from programs
    group by
        student_key,
        school_year
),

final as (
    select
        latest_enrollment.student_key,
        latest_enrollment.school_id,
        latest_enrollment.grade_level,
        program_flags.disability_category,
        cast(latest_enrollment.school_year as {{ cast_to('bigint') }}) as school_year,
        cast(schools_per_year.schools_enrolled as {{ cast_to('bigint') }}) as schools_enrolled,
        coalesce(demographics.race_ethnicity, 'unknown') as race_ethnicity,
        coalesce(demographics.sex, 'not_selected') as sex,
        case when program_flags.special_education = 1 then 'yes' else 'no' end as disability,
        case when program_flags.english_learner = 1 then 'yes' else 'no' end as english_learner,
        case
            when program_flags.economically_disadvantaged = 1 then 'yes' else 'no'
        end as economically_disadvantaged,
        case when program_flags.homeless = 1 then 'yes' else 'no' end as homeless,
        case when program_flags.foster_care = 1 then 'yes' else 'no' end as foster_care,
        case when program_flags.gifted = 1 then 'yes' else 'no' end as gifted,
        case when program_flags.section_504 = 1 then 'yes' else 'no' end as section_504,
        case when program_flags.migrant = 1 then 'yes' else 'no' end as migrant
    from latest_enrollment
    inner join schools_per_year
        on
            latest_enrollment.student_key = schools_per_year.student_key
            and latest_enrollment.school_year = schools_per_year.school_year
    left join demographics
        on latest_enrollment.student_key = demographics.student_key
    left join program_flags
        on
            latest_enrollment.student_key = program_flags.student_key
            and latest_enrollment.school_year = program_flags.school_year
    where latest_enrollment.recency = 1
)

select * from final
