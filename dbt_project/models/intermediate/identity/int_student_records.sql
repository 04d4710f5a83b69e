-- Every current student record (stg_student) of every source that feeds `student`, with
-- the student_key identity resolution matched it to; unmatched records are left out.
-- The one place demographics meet identity: dim_student builds each student's
-- demographics from these rows (the roster first) and mart_demographic_conflicts lists
-- where they disagree. Grain: source x student_ref.
with

students as (
    select
        source,
        student_ref,
        sex,
        hispanic_latino,
        race_american_indian_alaska_native,
        race_asian,
        race_black,
        race_native_hawaiian_pacific_islander,
        race_white,
        race_two_or_more,
        race_ethnicity,
        grade_level,
        _applied_at
    from {{ ref('stg_student') }}
),

identity as (
    {{ wholechild_matched_students('student') }}
),

final as (
    select
        students.*,
        identity.student_key
    from students
    inner join identity
        on
            students.source = identity.source
            and students.student_ref = identity.student_ref
)

select * from final
