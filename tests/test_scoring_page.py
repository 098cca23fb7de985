"""AppTest of the Risk scoring page (pages/scoring.py) for every role, on demo partners and lanes: the what-if inputs
move the bands and the matrix without saving, only an admin saves a configuration, viewers write nothing."""

from datetime import date

import pytest

from models.risk import Band
from services.demo.generator import seed_demo
from services.risk import assessment
from services.risk import config as risk_config

ROLES = ["admin", "analyst", "viewer"]


@pytest.fixture
def demo(session, staff):
    seed_demo(session=session, partners=25, seed=7, today=date.today())
    session.commit()
    return session


def metric(at, label: str) -> int:
    return int(next(m for m in at.metric if m.label == label).value.replace(",", ""))


def buttons(at) -> set[str]:
    return {b.label for b in at.button}


@pytest.mark.parametrize("role", ROLES)
def test_the_page_renders_scores_and_the_matrix_for_every_role(page_app, demo, role):
    at = page_app("scoring", role=role).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Risk scoring"
    done = assessment.current(session=demo, today=date.today())
    total = sum(metric(at, f"Partners {band}") for band in (Band.high, Band.medium, Band.low))
    assert total == len(done.scores.partners) > 0
    assert metric(at, f"Partners {Band.high.value}") == int((done.scores.partners["risk"] == Band.high).sum())
    assert at.table, "the matrix is shown as a table too"
    assert ("Save as the active configuration" in buttons(at)) == (role == "admin")


@pytest.mark.parametrize("role", ROLES)
def test_a_what_if_moves_the_bands_without_saving(page_app, demo, role):
    at = page_app("scoring", role=role).run()
    high_before = metric(at, f"Partners {Band.high.value}")
    at.number_input(key="risk_w_high_from").set_value(100.0)
    at.number_input(key="risk_w_medium_from").set_value(99.0)
    at.selectbox(key="risk_w_floor").set_value(Band.low.value)
    at.run()
    assert not at.exception, at.exception
    assert metric(at, f"Partners {Band.high.value}") < high_before or high_before == 0
    assert risk_config.versions(session=demo) == []  # nothing saved by moving inputs


def test_an_admin_saves_the_inputs_as_a_new_configuration_version(page_app, demo):
    at = page_app("scoring", role="admin").run()
    at.number_input(key="risk_w_high_from").set_value(35.0)
    at.text_input(key="risk_save_note").input("fewer High while we collect")
    at.run()
    at.button(key="risk_save").click().run()
    assert not at.exception, at.exception
    active, version = risk_config.active(session=demo)
    assert version is not None and active.high_from == 35.0


@pytest.mark.parametrize("role", ROLES)
def test_snapshots_tab_lets_writers_save_and_viewers_only_read(page_app, demo, role):
    at = page_app("scoring", role=role)
    at.session_state["scoring_tab"] = "Snapshots"
    at.run()
    assert not at.exception, at.exception
    names = [t for t in at.text_input if t.key == "risk_snapshot_name"]
    assert bool(names) == (role != "viewer")
    if role == "viewer":
        return
    names[0].input("2027 Q1 risk assessment")
    at.button[[b.label for b in at.button].index("Save a snapshot with the active configuration")].click().run()
    assert not at.exception, at.exception
    assert assessment.list_snapshots(session=demo)["name"].tolist() == ["2027 Q1 risk assessment"]


def test_a_closed_group_is_not_drawn_and_keeps_what_was_set_in_it(page_app, demo):
    """The collapsed groups of inputs are drawn only when opened (the page opens faster in the browser); what the
    user set in one keeps counting after it is closed, and shows again when it is reopened."""
    at = page_app("scoring", role="analyst").run()
    bands = (Band.low, Band.medium, Band.high)
    cells = [f"risk_w_m_{t}_{v}" for t in bands for v in bands]
    assert not [s for s in at.selectbox if s.key in cells], "a closed group draws no input"
    total = sum(metric(at, f"Partners {band}") for band in (Band.high, Band.medium, Band.low))
    at.session_state["risk_open_matrix"] = True
    at.run()
    for key in cells:
        at.selectbox(key=key).set_value(Band.high.value)
    at.run()
    assert metric(at, f"Partners {Band.high.value}") == total
    at.session_state["risk_open_matrix"] = False
    at.run()
    assert not at.exception, at.exception
    assert not [s for s in at.selectbox if s.key in cells]
    assert metric(at, f"Partners {Band.high.value}") == total, "the closed group's inputs still count"
    at.number_input(key="risk_w_high_from").set_value(90.0).run()  # another input moved while it is closed
    assert metric(at, f"Partners {Band.high.value}") == total
    at.session_state["risk_open_matrix"] = True
    at.run()
    assert {at.selectbox(key=key).value for key in cells} == {Band.high.value}


def test_a_login_keeps_the_cached_inputs_and_a_change_of_the_records_reads_them_again(page_app, demo, monkeypatch):
    """The scoring's inputs are keyed by the records version (services.core.data_version.RECORDS): a colleague's login
    and logout (sign-in bookkeeping) must not make the page read every answer again; a change to the records must."""
    from datetime import timedelta

    from models import Cycle
    from services.core import users
    from services.risk import inputs

    loads = []
    real_load = inputs.load

    def counted_load(**kwargs):
        loads.append(kwargs["today"])
        return real_load(**kwargs)

    monkeypatch.setattr(inputs, "load", counted_load)
    at = page_app("scoring", role="analyst").run()
    assert not at.exception, at.exception
    assert len(loads) == 1
    users.record_login(session=demo, username="vp")
    demo.commit()
    users.log_out(session=demo, username="vp")
    demo.commit()
    at.run()
    assert not at.exception, at.exception
    assert len(loads) == 1, "a login and a logout read the answers again"
    demo.add(Cycle(name="Next year", due_date=date.today() + timedelta(days=30), created_by="luis"))
    demo.commit()
    at.run()
    assert len(loads) == 2, "a change to the records did not reach the scoring"
