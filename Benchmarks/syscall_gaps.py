#!/usr/bin/env python3
"""Where a request/reply client's time goes between system calls, from a perf recording.

    perf record -e syscalls:sys_enter_epoll_wait,syscalls:sys_exit_epoll_wait,\\
                   syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_sendto \\
                -o gaps.data CLIENT ARGS...
    python3 Benchmarks/syscall_gaps.py gaps.data [more.data ...]

For each recording, the medians of:
  wake -> write   from an epoll_wait that slept (over 10 us) returning to the next write: the
                  client's work after a reply arrived and before the next request left. The
                  server waits through all of it: this is the part of the client's CPU time that
                  sets a one-at-a-time client's rate.
  write -> write  one whole request cycle.
What a client does after its write overlaps the server's work and costs nothing unless it is
longer than the server's reply takes (docs/performance.md, "Pipelines and keep-alive").
"""
import statistics
import subprocess
import sys

WRITES = ("sys_enter_write", "sys_enter_writev", "sys_enter_sendto")


def events(path):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "time,event"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 2:
            yield float(fields[0].rstrip(":")), fields[1].rstrip(":").split(":")[-1]


def main():
    for path in sys.argv[1:]:
        to_write, cycle = [], []
        entered = woke = last_write = None
        for time, name in events(path):
            if name == "sys_enter_epoll_wait":
                entered = time
            elif name == "sys_exit_epoll_wait":
                if entered is not None and time - entered > 10e-6:
                    woke = time
            elif name in WRITES:
                if woke is not None:
                    to_write.append(time - woke)
                    woke = None
                if last_write is not None:
                    cycle.append(time - last_write)
                last_write = time
        if not to_write:
            print(f"{path}: no slept-then-wrote cycles found")
            continue
        median = lambda values: statistics.median(values) * 1e6
        print(f"{path}: wake -> write {median(to_write):.1f} us, write -> write {median(cycle):.1f} us "
              f"(median of {len(to_write)} cycles)")


if __name__ == "__main__":
    main()
