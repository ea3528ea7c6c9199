"""Make a lesson URL work even when it is a fresh server's very first request.

Streamlit treats a `pages/` folder next to app.py as legacy multipage mode until the first run of
app.py calls st.navigation. Until then a visitor who opens a shared link such as /conv2d?stride=2
gets pages/conv2d.py run on its own: no router, no page config, the legacy sidebar. So each lesson
script calls ``through_router()`` first: in that situation it runs app.py (whose st.navigation
picks this same page from the URL and renders it) and stops; otherwise it does nothing.
"""

from __future__ import annotations

import runpy
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def through_router() -> None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner import StopException
    except ImportError:  # a Streamlit without the legacy mode: nothing to do
        return
    if PagesManager.uses_pages_directory:
        runpy.run_path(str(APP), run_name="__main__")
        # end this page's own run as st.stop() would, but without its request to stop the
        # session's script runner: that request discarded a click made meanwhile on a
        # fragment (a lesson's Next during the first page a fresh server draws)
        raise StopException
