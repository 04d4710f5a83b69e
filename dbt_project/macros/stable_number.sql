{#-
    A double with the last bits of floating-point noise removed, so that a comparison
    against a threshold gives the same answer on every engine and every run:

        {{ wholechild_stable('days_absent / days_enrolled') }} >= 0.10

    Sums of fractions come out a bit different with the order of addition (DuckDB sums
    in parallel, Spark per partition), and a rate that is exactly a threshold in
    arithmetic is often not in binary: 17.9 absent days of 179 is 0.09999999999999999,
    which a plain `>= 0.10` calls not chronic although METRICS.md's rule is inclusive.
    Nine decimal places keep every real difference (days are counted to the quarter,
    grade points and credits to the hundredth) and drop the noise.
-#}
{% macro wholechild_stable(expr) -%}
    round({{ expr }}, 9)
{%- endmacro %}
