-- Every student_ref any source carries, per entity that has one, with the source's
-- declared id kind and its number of current rows. Generated from the registry
-- (macros/student_identity.sql), so a new entity or source needs no SQL here.
-- Grain: source x entity x student_ref.
{{ config(materialized='view') }}

with

refs as (
    {{ wholechild_student_refs() }}
)

select * from refs
