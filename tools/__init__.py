"""Tools that generate the project's documentation (``python -m tools.build_docs``)."""
