"""The Automation page over HTTP: rules, enable/disable, the JSON editor, simulate, the run log,
playbooks, dead jobs with retry, roles, CSRF and escaping."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import escape
from sqlalchemy import func, select

from tenure.db.models import Activity, Job, Rule, RuleRun
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.contacts import ContactKind
from tenure.services import contacts, jobs, playbooks, rules
from tests.conftest import Database, Server, Tenant
from tests.web.conftest import Browser, login, set_password

TASK = [{"type": "create_activity", "kind": "task", "title": "Welcome {contact.display_name}"}]


def _rule(db: Database, tenant: Tenant, name: str = "Welcome", **kw: Any) -> int:
    with unit_of_work(session_factory(db.engine)) as session:
        rule = rules.create_rule(
            tenant.ctx(session),
            name=name,
            trigger=kw.pop("trigger", {"type": "event", "event": "contact.created"}),
            actions=kw.pop("actions", TASK),
            **kw,
        )
        return rule.id


def _contact(db: Database, tenant: Tenant, name: str) -> int:
    with unit_of_work(session_factory(db.engine)) as session:
        return contacts.create_contact(
            tenant.ctx(session), kind=ContactKind.PERSON, display_name=name
        ).contact.id


def _counts(db: Database) -> tuple[int, ...]:
    with unit_of_work(session_factory(db.engine)) as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Rule, RuleRun, Activity, Job)
        )


def _enabled(db: Database, rule_id: int) -> bool:
    with unit_of_work(session_factory(db.engine)) as session:
        return bool(session.get(Rule, rule_id).enabled)  # type: ignore[union-attr]


def test_list_shows_rules_in_words_runs_and_playbooks(
    browser: Browser, tenant: Tenant, db: Database
) -> None:
    rule_id = _rule(
        db,
        tenant,
        "Renewal nudge",
        trigger={"type": "date", "field": "agreement.renews_on", "offset_days": -30},
    )
    contact_id = _contact(db, tenant, "Ada Client")
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        session.add(
            RuleRun(
                workspace_id=tenant.workspace_id,
                rule_id=rule_id,
                trigger_key="k1",
                contact_id=contact_id,
                outcome="failed",
                effects=[{"type": "create_activity", "title": "Renew it"}],
                error="actions[0]: boom happened",
                created_at=ctx.now,
            )
        )
        playbooks.create_playbook(
            ctx,
            name="Kickoff",
            steps=[
                {
                    "day": 0,
                    "name": "Hello call",
                    "action": {"type": "create_activity", "kind": "call", "title": "Call them"},
                },
                {
                    "day": 7,
                    "name": "Check in",
                    "action": {"type": "create_activity", "kind": "task", "title": "Check in"},
                },
            ],
        )
    page = browser.get("/automation")
    assert page.status_code == 200
    text = page.text
    assert "Renewal nudge" in text and "30 days before agreement.renews_on" in text
    assert "enabled" in text
    # The run log: outcome, contact, effects, error.
    assert "boom happened" in text and f'href="/contacts/{contact_id}"' in text
    assert "Renew it" in text and "run-failed" in text
    # Playbooks with their steps.
    assert "Kickoff" in text and "Day 7: Check in" in text and "Hello call" in text
    assert 'href="/automation/rules/new"' in text
    assert browser.get(f"/automation/rules/{rule_id}").status_code == 200
    assert browser.get("/automation/rules/999999").status_code == 404


def test_enable_and_disable(browser: Browser, tenant: Tenant, db: Database) -> None:
    rule_id = _rule(db, tenant)
    browser.get("/automation")
    r = browser.post(f"/automation/rules/{rule_id}/disable")
    assert r.status_code == 303 and not _enabled(db, rule_id)
    assert "Enable<span" in browser.get("/automation").text
    r = browser.post(f"/automation/rules/{rule_id}/enable")
    assert r.status_code == 303 and _enabled(db, rule_id)


def test_create_a_rule_and_edit_it(browser: Browser, tenant: Tenant, db: Database) -> None:
    page = browser.get("/automation/rules/new")
    assert page.status_code == 200
    assert "contact.converted" in page.text  # prefilled JSON
    r = browser.post(
        "/automation/rules",
        {
            "name": "Quiet clients",
            "trigger": '{"type": "inactivity", "measure": "touch", "days": 60}',
            "conditions": '{"all": [{"field": "contact.stage", "op": "eq", "value": "client"}]}',
            "actions": '[{"type": "add_tag", "tag": "quiet"}]',
        },
    )
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    page = browser.get(url)
    assert "after 60 days without touch" in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    r = browser.post(
        url,
        {
            "version": version,
            "name": "Quiet clients (90)",
            "trigger": '{"type": "inactivity", "measure": "touch", "days": 90}',
            "conditions": "{}",
            "actions": '[{"type": "add_tag", "tag": "quiet"}]',
        },
    )
    assert r.status_code == 303, r.text
    page = browser.get(url)
    assert "Quiet clients (90)" in page.text and "after 90 days without touch" in page.text


def test_bad_json_and_bad_trigger_are_shown_next_to_the_field_and_kept(
    browser: Browser, tenant: Tenant, db: Database
) -> None:
    before = _counts(db)
    browser.get("/automation/rules/new")
    bad_json = '{"type": "event", "event": '
    r = browser.post(
        "/automation/rules",
        {"name": "Broken", "trigger": bad_json, "conditions": "{}", "actions": "[]"},
    )
    assert r.status_code == 422
    assert "not valid JSON" in r.text
    assert str(escape(bad_json)) in r.text  # what was typed is kept
    assert 'id="f-trigger" name="trigger" rows="5" class="mono" aria-invalid="true"' in r.text
    assert 'id="f-trigger-err"' in r.text

    bad_trigger = '{"type": "date", "field": "contact.birthday", "offset_days": "soon"}'
    r = browser.post(
        "/automation/rules",
        {
            "name": "Birthday",
            "trigger": bad_trigger,
            "conditions": '{"all": [{"field": "contact.stage", "op": "like", "value": 1}]}',
            "actions": TASK_JSON,
        },
    )
    assert r.status_code == 422
    assert "trigger.field" in r.text and "trigger.offset_days" in r.text
    assert "conditions.all[0].op" in r.text
    assert str(escape(bad_trigger)) in r.text
    assert 'value="Birthday"' in r.text
    assert _counts(db) == before


TASK_JSON = '[{"type": "create_activity", "kind": "task", "title": "Hi {contact.display_name}"}]'


def test_simulate_changes_nothing(browser: Browser, tenant: Tenant, db: Database) -> None:
    _contact(db, tenant, "Sim One")
    _contact(db, tenant, "Sim Two")
    rule_id = _rule(db, tenant, "Greet new contacts")
    before = _counts(db)
    # A saved rule, from the rule page (a link: any role may look).
    page = browser.get(f"/automation/rules/{rule_id}?simulate=1")
    assert page.status_code == 200
    assert "This rule would create 2 tasks" in page.text
    assert "Sim One" in page.text and "Sim Two" in page.text
    # The form as typed (an unsaved change), and a new draft.
    form = {
        "name": "Greet",
        "trigger": '{"type": "event", "event": "contact.created"}',
        "conditions": '{"all": [{"field": "contact.display_name", "op": "eq", '
        '"value": "Sim Two"}]}',
        "actions": TASK_JSON,
    }
    r = browser.post(f"/automation/rules/{rule_id}/simulate", {**form, "version": "1"})
    assert r.status_code == 200 and "This rule would create 1 task (1 firing) for Sim Two" in r.text
    assert "Hi Sim Two" in r.text
    r = browser.post("/automation/simulate", form)
    assert r.status_code == 200 and "This rule would create 1 task" in r.text
    assert 'value="Greet"' in r.text  # the form is kept
    r = browser.post("/automation/simulate", {**form, "trigger": "{nope"})
    assert r.status_code == 422 and "not valid JSON" in r.text
    assert _counts(db) == before


def test_dead_job_retry(browser: Browser, tenant: Tenant, db: Database) -> None:
    with unit_of_work(session_factory(db.engine)) as session:
        job_id = jobs.enqueue(tenant.ctx(session), "email.send", {"x": 1})
        assert job_id is not None
        job = session.get(Job, job_id)
        assert job is not None
        job.status, job.attempts, job.last_error = "dead", 8, "SMTP said <no>"
    page = browser.get("/automation").text
    assert f'action="/automation/jobs/{job_id}/retry"' in page and "SMTP said &lt;no&gt;" in page
    r = browser.post(f"/automation/jobs/{job_id}/retry")
    assert r.status_code == 303
    with unit_of_work(session_factory(db.engine)) as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "queued" and job.attempts == 0
    assert f'action="/automation/jobs/{job_id}/retry"' not in browser.get("/automation").text
    r = browser.post(f"/automation/jobs/{job_id}/retry")  # not dead any more
    assert r.status_code == 409


def test_viewer_and_member_read_without_forms_and_cannot_post(
    viewer_browser: Browser, server: Server, tenant: Tenant, db: Database
) -> None:
    rule_id = _rule(db, tenant, "Read me")
    before = _counts(db)
    member = tenant.member(Role.MEMBER)
    set_password(db, member.email)
    member_browser = login(server, member.email)
    for b in (viewer_browser, member_browser):
        page = b.get("/automation").text
        assert "Read me" in page
        assert 'method="post" action="/automation' not in page
        assert "Dead jobs" not in page and 'href="/automation/rules/new"' not in page
        rule_page = b.get(f"/automation/rules/{rule_id}").text
        assert "Read me" in rule_page and 'method="post"' not in main_of(rule_page)
        assert "simulate=1" in rule_page  # a read-only dry run is a link
        assert b.get(f"/automation/rules/{rule_id}?simulate=1").status_code == 200
        assert b.get("/automation/rules/new").status_code == 403
        for path, data in (
            (f"/automation/rules/{rule_id}/disable", {}),
            ("/automation/rules", {"name": "x", "trigger": "{}", "actions": "[]"}),
            (f"/automation/rules/{rule_id}", {"name": "x", "version": "1"}),
            (f"/automation/rules/{rule_id}/simulate", {"trigger": "{}"}),
            ("/automation/defaults", {}),
            ("/automation/jobs/1/retry", {}),
        ):
            assert b.post(path, data).status_code == 403, path
    member_browser.client.close()
    assert _enabled(db, rule_id) and _counts(db) == before


def main_of(page: str) -> str:
    return page.split("<main", 1)[1].split("</main>", 1)[0]


def test_csrf_is_refused(browser: Browser, tenant: Tenant, db: Database) -> None:
    rule_id = _rule(db, tenant)
    r = browser.client.post(f"/automation/rules/{rule_id}/disable")
    assert r.status_code == 403
    r = browser.client.post(f"/automation/rules/{rule_id}/disable", data={"csrf": "forged"})
    assert r.status_code == 403
    r = browser.client.post(
        "/automation/rules", data={"csrf": "forged", "name": "x", "trigger": "{}", "actions": "[]"}
    )
    assert r.status_code == 403
    assert _enabled(db, rule_id)


def test_a_script_in_a_rule_name_renders_as_text(
    browser: Browser, tenant: Tenant, db: Database
) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    rule_id = _rule(
        db,
        tenant,
        payload,
        description=payload,
        actions=[{"type": "create_activity", "title": payload}],
    )
    for path in (
        "/automation",
        f"/automation/rules/{rule_id}",
        f"/automation/rules/{rule_id}?simulate=1",
    ):
        page = browser.get(path).text
        for found in re.finditer(r"<script>alert|<img[^>]*onerror", page):
            raise AssertionError(path + ": " + page[max(found.start() - 200, 0) : found.end() + 50])
        assert "&lt;script&gt;" in page
