"""``ui.boot``: a fresh server's first request is drawn through the router, and ends without
asking the session's script runner to stop, which would discard a click made meanwhile."""

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import StopException
from streamlit.runtime.scriptrunner_utils import script_requests as sr

from ui import boot


def test_the_router_s_end_keeps_a_click_made_meanwhile(monkeypatch):
    requests = sr.ScriptRequests()
    requests.request_rerun(sr.RerunData(fragment_id="the steps' fragment"))  # Next, clicked
    ran = []
    monkeypatch.setattr(PagesManager, "uses_pages_directory", True)
    monkeypatch.setattr(boot.runpy, "run_path", lambda path, **kw: ran.append(path))
    ctx = type("Ctx", (), {"script_requests": requests})()  # what st.stop() would stop
    monkeypatch.setattr("streamlit.commands.execution_control.get_script_run_ctx", lambda: ctx)
    try:
        boot.through_router()
        stopped = False
    except StopException:
        stopped = True
    assert ran == [str(boot.APP)]
    after = requests.on_scriptrunner_ready()  # the run is over: what the runner does next
    assert after.type == sr.ScriptRequestType.RERUN
    assert after.rerun_data.fragment_id_queue == ["the steps' fragment"]
    assert stopped  # and the page's own script did not go on to draw itself a second time


def test_a_session_through_the_router_already_does_nothing(monkeypatch):
    monkeypatch.setattr(PagesManager, "uses_pages_directory", False)
    monkeypatch.setattr(boot.runpy, "run_path", lambda *a, **k: pytest.fail("ran app.py"))
    assert boot.through_router() is None
