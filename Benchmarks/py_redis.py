"""The Python peer of the Redis benchmarks: redis-py with hiredis (installed from PyPI by the runner).

    python3 py_redis.py WORKLOAD PORT COUNT
Prints "count seconds maxRSSKiB 0 cpuSeconds".
"""
import resource
import sys
import time

import redis


def main():
    workload, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    # Timed from the connection on, as the Swift contender is (its setup SET included).
    started = time.monotonic()
    client = redis.Redis(host="127.0.0.1", port=port)
    if workload == "redis-big":
        client.set("key:big", b"x" * (10 << 20))
        for _ in range(count):
            assert len(client.get("key:big")) == 10 << 20
    elif workload == "redis-get":
        client.set("key:bench", b"xxx")
        for _ in range(count):
            client.get("key:bench")
    else:
        raise SystemExit(f"unknown workload {workload}")
    elapsed = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(count, elapsed, usage.ru_maxrss, 0, usage.ru_utime + usage.ru_stime)


if __name__ == "__main__":
    main()
