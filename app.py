"""Backprop Lab: the router. The pages and their groups come from the registry (ui/registry.py);
this file only turns them into the navigation."""

import streamlit as st

from ui.registry import HOME, groups

st.set_page_config(page_title="Backprop Lab", page_icon=":material/function:", layout="wide")

NAV = {
    group: [
        st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url or None, default=p is HOME)
        for p in pages
    ]
    for group, pages in groups().items()
}

# every page listed: past 12, Streamlit would fold the rest under "View more"
st.navigation(NAV, expanded=True).run()
