"""The app's building blocks: the registry of pages and ops, the lesson page, the network and
graph pages, practice, pictures and the widgets. The modules that draw import streamlit; the
pure ones (``registry``, ``specs``, ``links``, ``state``, ``urlstate``, ``values``,
``practice_model``, the training and layout models) do not, so the tests use them without a
page (``tests/test_layers.py`` checks that nothing below ``ui`` imports it)."""
