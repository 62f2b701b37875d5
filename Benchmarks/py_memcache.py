"""The Python peer of the memcached benchmarks: pymemcache (installed from PyPI by the runner).

    python3 py_memcache.py WORKLOAD PORT COUNT
Prints "count seconds maxRSSKiB 0 cpuSeconds".
"""
import resource
import sys
import time

from pymemcache.client.base import Client


def main():
    workload, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    started = time.monotonic()  # from the connection on, as the Swift contender
    client = Client(("127.0.0.1", port))
    if workload == "mc-get":
        client.set("key:bench", b"xxx")
        for _ in range(count):
            assert client.get("key:bench") is not None
    elif workload == "mc-multi":
        keys = ["key:%d" % index for index in range(100)]
        for key in keys:
            client.set(key, b"xxx")
        for _ in range(count // 100):
            assert len(client.get_many(keys)) == 100
        count = count // 100 * 100
    else:
        raise SystemExit(f"unknown workload {workload}")
    elapsed = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(count, elapsed, usage.ru_maxrss, 0, usage.ru_utime + usage.ru_stime)


if __name__ == "__main__":
    main()
