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


def return_freed_memory() -> bool:
    """Let what the process frees go back to the system: call once, early in a long-lived process (the app server).

    - glibc: every block of 128 KiB or more is mapped by itself and unmapped when freed. glibc otherwise raises that
      threshold each time such a block is freed (up to 32 MiB), after which the million-row temporaries of the
      scoring inputs and of the imports are carved out of its heap, and the freed space stays in the server's memory:
      some 60 MB at 10,000 partners (docs/PERFORMANCE.md, "Server memory").
    - Arrow (pandas' text columns): its buffers come from the same allocator instead of Arrow's bundled mimalloc,
      which kept some 30 MB of freed pages in the server.

    Returns False where the C library is not glibc (Arrow's setting is made all the same).
    """
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    libc = _glibc()
    if libc is None:
        return False
    done = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    if not done:
        log.warning("memory: glibc refused the mmap threshold; freed large blocks may stay in the process")
    return done


def heap_bytes() -> dict[str, int] | None:
    """glibc's heap now: bytes in use, kept free (not returned to the system) and in blocks mapped by themselves;
    None where the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return None
    info = libc.mallinfo2()
    return {"used": int(info.uordblks), "free": int(info.fordblks), "mapped": int(info.hblkhd)}


def held_free_bytes() -> int | None:
    """Bytes glibc keeps free in its heap (not returned to the system), or None where the C library is not glibc."""
    heap = heap_bytes()
    return None if heap is None else heap["free"]
