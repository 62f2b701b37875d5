"""The Tornado peer of the HTTP benchmarks: tornado.simple_httpclient (installed by the runner).

    python3 py_http.py WORKLOAD PORT COUNT
`http-seq`: COUNT GETs of /1k.bin one after another (simple_httpclient opens a connection per
request); `http-big`: one GET of /big.bin, read through streaming_callback (COUNT bytes).
Prints "count seconds maxRSSKiB 0 cpuSeconds".
"""
import asyncio
import resource
import sys
import time

from tornado.simple_httpclient import SimpleAsyncHTTPClient


async def run(workload, port, count):
    client = SimpleAsyncHTTPClient(max_body_size=1 << 30)
    if workload == "http-seq":
        url = f"http://127.0.0.1:{port}/1k.bin"
        for _ in range(count):
            response = await client.fetch(url)
            assert response.code == 200 and len(response.body) == 1024
        return count
    if workload == "http-big":
        received = 0

        def piece(chunk):
            nonlocal received
            received += len(chunk)

        await client.fetch(f"http://127.0.0.1:{port}/big.bin", streaming_callback=piece, request_timeout=600)
        return received
    raise SystemExit(f"unknown workload {workload}")


def main():
    workload, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    started = time.monotonic()
    done = asyncio.run(run(workload, port, count))
    elapsed = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(done, elapsed, usage.ru_maxrss, 0, usage.ru_utime + usage.ru_stime)


if __name__ == "__main__":
    main()
