"""Named automation-condition presets: every asset that automates picks one from here.

Conditions are not scattered inline, so a change of policy is one diff in one place and
the UI shows the preset's label rather than an anonymous expression.
"""

from __future__ import annotations

import dagster as dg


def after_upstream_contracts_pass() -> dg.AutomationCondition:
    """Rebuild when an upstream asset updates, but only once its blocking checks passed.

    ``eager()`` alone still fires downstream after a failed blocking check (the check runs
    after the materialization is recorded); ``all_deps_blocking_checks_passed()`` holds the
    rebuild until every upstream blocking check has passed (or is requested in the same
    tick, in which case the run itself stops the child if the check fails). A rejected
    delivery keeps the old data and fails only a WARN check, so it never freezes the marts.
    """
    return (
        dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("eager_after_blocking_checks_pass")


#: The condition of every dbt model and seed (staging, intermediate, marts).
DBT_MODELS = after_upstream_contracts_pass


#: When coverage/interoperability recomputes its table (cron, in the instance's time zone).
COVERAGE_DAILY_CRON = "0 6 * * *"


def after_any_delivery_and_daily() -> dg.AutomationCondition:
    """Recompute after any upstream update, and once a day (freshness ages with the clock).

    Unlike ``eager()`` it does not wait for every upstream asset to exist: a source that
    never delivered (or an unconnected domain's placeholder, which never materializes) is
    exactly what the coverage table must show. It waits while an upstream run is going.
    """
    return (
        (
            dg.AutomationCondition.any_deps_updated()
            | dg.AutomationCondition.cron_tick_passed(COVERAGE_DAILY_CRON)
        ).since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("after_any_delivery_and_daily")


#: The condition of the Python coverage asset (coverage/interoperability).
COVERAGE = after_any_delivery_and_daily
