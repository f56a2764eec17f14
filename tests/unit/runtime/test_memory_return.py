"""Memory a burst freed goes back to the node (services/runtime/memory_return.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from services.runtime.memory_return import glibc_trim, memory_return_sampler

# A burst in a fresh interpreter: 64 MB of 32 KiB blocks (below glibc's mmap threshold, so
# they live in its heap), every 64th kept alive so the freed space is holes, not a top
# glibc would trim by itself. Prints the resident kB after the free and after one trim.
_BURST = textwrap.dedent(
    """
    from services.runtime.memory_return import glibc_trim

    def resident_kb():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])

    blocks = [bytearray(32 * 1024) for _ in range(2048)]
    kept = blocks[::64]
    del blocks
    freed = resident_kb()
    glibc_trim()()
    print(freed, resident_kb())
    """
)


async def test_the_sampler_trims_on_every_sample() -> None:
    calls: list[int] = []

    def trim() -> int:
        calls.append(1)
        return 1

    sampler = memory_return_sampler(30.0, trim=trim)

    assert sampler is not None
    assert sampler.every_seconds == 30.0
    assert sampler.name == "memory_return"
    await sampler.sample()
    await sampler.sample()
    assert len(calls) == 2


def test_no_sampler_when_it_is_off_or_the_c_library_has_no_trim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert memory_return_sampler(0, trim=lambda: 1) is None

    monkeypatch.setattr("services.runtime.memory_return.glibc_trim", lambda: None)
    assert memory_return_sampler(30.0) is None


def test_a_trim_gives_a_freed_burst_back_to_the_node() -> None:
    if glibc_trim() is None:
        pytest.skip("missing optional dependency: glibc's malloc_trim (not a glibc system)")
    answer = subprocess.run(
        [sys.executable, "-c", _BURST], capture_output=True, text=True, check=True, timeout=60
    )
    freed, trimmed = (int(kb) for kb in answer.stdout.split())

    # 63 of 64 blocks were freed: about 63 MB the trim can hand back.
    assert freed - trimmed > 40_000, answer.stdout
