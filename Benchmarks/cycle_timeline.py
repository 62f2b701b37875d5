#!/usr/bin/env python3
"""When each step of a request/reply cycle happens, from a whole-system perf recording.

    perf record -a -e syscalls:sys_enter_epoll_wait,syscalls:sys_exit_epoll_wait,\\
                      syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_sendto,\\
                      sched:sched_waking,sched:sched_switch -o cycle.data CLIENT ARGS...
    python3 Benchmarks/cycle_timeline.py cycle.data CLIENT_THREAD_NAME [SERVER_NAME]

A cycle runs from one write of the client's to the next. For each step (the server woken,
switched in, back from epoll_wait, writing; the client woken, switched in, back from epoll_wait,
writing again) it prints the median time since the cycle's write, over the cycles where the step
was seen. Pin server and client (taskset) to compare two clients on the same placement
(docs/performance.md, "Where the cycle is longer").
"""
import re
import statistics
import subprocess
import sys

WRITES = ("sys_enter_write", "sys_enter_writev", "sys_enter_sendto")
STEPS = ["S_woken", "S_in", "S_epoll_exit", "S_write", "C_woken", "C_in", "C_epoll_exit", "C_write"]


def main(path, client, server="redis-server"):
    out = subprocess.run(["perf", "script", "-i", path, "-F", "comm,tid,time,event,trace"],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*(.+?)\s+(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)", line)
        if m:
            comm, tid, t, event, rest = m.groups()
            rows.append((float(t), comm.strip(), int(tid), event.split(":")[-1], rest))
    server_tid = next(r[2] for r in rows if r[1] == server and r[3] == "sys_exit_epoll_wait")
    client_tid = next(r[2] for r in rows if r[1] == client and r[3] in WRITES)
    steps = []
    for t, _, tid, event, rest in rows:
        side = "C" if tid == client_tid else "S" if tid == server_tid else None
        if side and event in WRITES:
            steps.append((t, side + "_write"))
        elif side and event == "sys_exit_epoll_wait":
            steps.append((t, side + "_epoll_exit"))
        # The thread a scheduler event is about: the one woken, or the one switched in.
        target = {"sched_waking": (r"\bpid=(\d+)", "_woken"), "sched_switch": (r"next_pid=(\d+)", "_in")}.get(event)
        found = target and re.search(target[0], rest)
        if found:
            who = int(found.group(1))
            if who == client_tid:
                steps.append((t, "C" + target[1]))
            elif who == server_tid:
                steps.append((t, "S" + target[1]))
    steps.sort()
    writes = [i for i, (_, label) in enumerate(steps) if label == "C_write"]
    times = {step: [] for step in STEPS}
    for a, b in zip(writes, writes[1:]):
        seen = {}
        for t, label in steps[a + 1:b + 1]:
            seen.setdefault(label, t)
        for step in STEPS:
            if step in seen:
                times[step].append((seen[step] - steps[a][0]) * 1e6)
    cycles = max(len(writes) - 1, 1)
    print(f"{path}: {cycles} cycles")
    for step in STEPS:
        if times[step]:
            print(f"  {step:<13} {statistics.median(times[step]):6.1f} us after the write (seen in {100 * len(times[step]) // cycles}%)")


if __name__ == "__main__":
    main(*sys.argv[1:])
