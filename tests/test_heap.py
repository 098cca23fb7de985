"""The app freezes its long-lived heap once per process (ui.state.freeze_heap): full garbage collections of the
imported libraries landed in the middle of page runs (docs/PERFORMANCE.md, "Every page in Chromium")."""

import gc

from ui import state


def test_the_long_lived_heap_is_frozen_once_per_process():
    state.freeze_heap()
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # streamlit, pandas, SQLAlchemy and the app's modules, at least
    garbage = [[] for _ in range(1_000)]
    state.freeze_heap()
    assert gc.get_freeze_count() == frozen  # objects made after the first run are collected as usual
    assert gc.is_tracked(garbage)
