"""Streamlit glue shared by app.py and the pages: cached engine, login, role checks."""
