"""Python peers for the benchmarks: Tornado's IOStream and asyncio's StreamReader.

    python3 py_reader.py tornado|asyncio WORKLOAD PORT
Prints "count seconds maxRSSKiB 0 cpuSeconds".
"""
import asyncio
import resource
import socket
import struct
import sys
import time

# The delimiter of each line workload.
DELIMITERS = {"lines-lf": b"\n", "longline": b"\n", "lines-crlf": b"\r\n"}


async def tornado_reader(workload, port):
    from tornado.iostream import IOStream, StreamClosedError

    stream = IOStream(socket.socket())
    await stream.connect(("127.0.0.1", port))
    n = 0
    try:
        if workload in DELIMITERS:
            delimiter = DELIMITERS[workload]
            while True:
                await stream.read_until(delimiter)
                n += 1
        elif workload == "regex":
            while True:
                await stream.read_until_regex(rb"\r?\n")
                n += 1
        elif workload == "frames":
            while True:
                (length,) = struct.unpack(">I", await stream.read_bytes(4))
                await stream.read_bytes(length)
                n += 1
        elif workload.startswith("bulk"):
            while True:
                n += len(await stream.read_bytes(65536, partial=True))
    except StreamClosedError:
        pass
    return n


async def asyncio_reader(workload, port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=16 * 1024 * 1024)
    n = 0
    try:
        if workload in DELIMITERS:
            delimiter = DELIMITERS[workload]
            while True:
                await reader.readuntil(delimiter)
                n += 1
        elif workload == "frames":
            while True:
                (length,) = struct.unpack(">I", await reader.readexactly(4))
                await reader.readexactly(length)
                n += 1
        elif workload.startswith("bulk"):
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                n += len(chunk)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()
    return n


def main():
    contender, workload, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    started = time.monotonic()
    if contender == "tornado":
        from tornado.ioloop import IOLoop

        n = IOLoop.current().run_sync(lambda: tornado_reader(workload, port))
    else:
        n = asyncio.run(asyncio_reader(workload, port))
    elapsed = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(n, elapsed, usage.ru_maxrss, 0, usage.ru_utime + usage.ru_stime)


main()
