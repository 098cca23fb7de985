"""The server hands freed large blocks back to the system (services.core.memory.release_large_blocks): glibc's
moving mmap threshold otherwise kept the scoring's freed million-row temporaries in the process."""

import subprocess
import sys

import pytest

from services.core import memory

SCRIPT = """
import sys
from services.core import memory
if sys.argv[1] == "fixed":
    assert memory.release_large_blocks()
kept = []
for _ in range(20):
    block = bytearray(4 * 1024 * 1024)  # a large temporary, as a column of a million-row frame
    kept.append(bytearray(64))  # a small long-lived object allocated after it
    del block
print(memory.held_free_bytes())
"""


def _held(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


@pytest.mark.skipif(memory.held_free_bytes() is None, reason="the C library is not glibc")
def test_freed_large_blocks_go_back_to_the_system():
    assert _held("default") >= 4 * 1024 * 1024  # glibc's own behaviour: the freed block stays in its heap
    assert _held("fixed") < 1024 * 1024
