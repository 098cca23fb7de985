"""The server hands freed memory back to the system (services.core.memory.return_freed_memory): glibc's moving mmap
threshold and Arrow's bundled allocator otherwise kept the scoring's freed million-row temporaries in the process."""

import subprocess
import sys

import pytest

from services.core import memory

SCRIPT = """
import sys
from services.core import memory
if sys.argv[1] == "fixed":
    assert memory.return_freed_memory()
kept = []
for _ in range(20):
    block = bytearray(4 * 1024 * 1024)  # a large temporary, as a column of a million-row frame
    kept.append(bytearray(64))  # a small long-lived object allocated after it
    del block
held = memory.held_free_bytes()
import pyarrow
print(held, pyarrow.default_memory_pool().backend_name)
"""


def _run(mode: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    held, arrow = done.stdout.split()
    return int(held), arrow


@pytest.mark.skipif(memory.held_free_bytes() is None, reason="the C library is not glibc")
def test_freed_large_blocks_go_back_to_the_system():
    held, arrow = _run("default")
    assert held >= 4 * 1024 * 1024  # glibc's own behaviour: the freed block stays in its heap
    assert arrow != "system"  # Arrow's bundled allocator, which keeps freed pages
    held, arrow = _run("fixed")
    assert held < 1024 * 1024
    assert arrow == "system"
