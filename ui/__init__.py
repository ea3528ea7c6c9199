"""The app's building blocks. Only the modules that draw (widgets, plots, panels) import
streamlit; ``ui.registry`` and ``ui.links`` are plain Python, shared with the tests."""
