"""How the server process hands memory back to the system (glibc's allocator, where the C library is glibc)."""

import ctypes
import ctypes.util
import logging

log = logging.getLogger("ctpat")

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value, kept fixed
TRIM_THRESHOLD = 1024 * 1024


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


def _glibc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallinfo2.restype = _Mallinfo2
        return libc
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS): its allocator has no such setting
        return None


def release_large_blocks() -> bool:
    """Map every block of 128 KiB or more by itself, so that it goes back to the system when it is freed.

    glibc raises that threshold each time such a block is freed (up to 32 MiB), after which the million-row
    temporaries of the scoring inputs and of the imports are carved out of its heap, and the freed space stays in
    the server's memory: some 60 MB at 10,000 partners (docs/PERFORMANCE.md, "Server memory"). Fixing the threshold
    turns that adjustment off. Returns False where the C library is not glibc (nothing changed).
    """
    libc = _glibc()
    if libc is None:
        return False
    done = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if not done:
        log.warning("memory: glibc refused the mmap threshold; freed large blocks may stay in the process")
    return done


def held_free_bytes() -> int | None:
    """Bytes glibc keeps free in its heap (not returned to the system), or None where the C library is not glibc."""
    libc = _glibc()
    return None if libc is None else int(libc.mallinfo2().fordblks)
