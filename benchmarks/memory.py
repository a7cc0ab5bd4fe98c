"""Memory readings of this process for the benchmarks (Linux ``/proc``)."""

from __future__ import annotations

import os
import resource


def rss_mib() -> float:
    """Resident set size now."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def max_rss_mib() -> float:
    """Largest resident set size of the process's life."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Start the peak RSS (VmHWM) afresh: Linux resets it on ``5`` to clear_refs."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def peak_mib() -> float:
    """Peak resident set size since the last :func:`reset_peak`."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")
