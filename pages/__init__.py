"""Page modules: each defines render() and helpers only; app.py registers them with st.navigation."""
