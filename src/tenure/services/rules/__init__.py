"""Automation rules: when something happens (an event, a date, inactivity, a recurrence) and the
conditions hold, do the actions; every firing recorded once per trigger occurrence.

A package (the feature outgrew one module):

* ``crud``      creating, changing, enabling and reading rules and their runs
* ``engine``    firing: ``on_event`` (the outbox dispatch), and the due occurrences of
                time-based triggers
* ``time_job``  ``evaluate_time_triggers``: the hourly ``rules.time`` job, in bounded batches
                that continue themselves (with catch-up after downtime)
* ``actions``   the action vocabulary shared with playbook steps
* ``facts``     what conditions and texts see (``contact.*``, ``record.*``, ``event.*`` …)
* ``simulate``  dry runs that change nothing
* ``defaults``  the shipped default rules and the onboarding playbook

The JSON formats are documented in ``tenure.domain.rules``.
"""

from tenure.services.rules.crud import (
    create_rule,
    get_rule,
    list_rules,
    list_runs,
    set_enabled,
    update_rule,
)
from tenure.services.rules.defaults import BUILTIN_RULES, install_defaults
from tenure.services.rules.engine import on_event
from tenure.services.rules.simulate import simulate
from tenure.services.rules.time_job import TIME_KIND, evaluate_time_triggers

__all__ = [
    "BUILTIN_RULES",
    "TIME_KIND",
    "create_rule",
    "evaluate_time_triggers",
    "get_rule",
    "install_defaults",
    "list_rules",
    "list_runs",
    "on_event",
    "set_enabled",
    "simulate",
    "update_rule",
]
