"""The floor for a 10 MiB Redis GET on this machine: a raw socket that sends GET and only receives
into a preallocated buffer (no parsing beyond the length, no copy). docs/performance.md compares
the clients with it.

    python3 raw_redis_big.py PORT COUNT [READ_SIZE]
Prints "count milliseconds-per-GET". Sets key:big to 10 MiB first (not timed).
"""
import socket
import sys
import time


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    read_size = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 20
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)  # every wait ends: a stuck server fails the run
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    value = b"x" * (10 << 20)
    sock.sendall(b"*3\r\n$3\r\nSET\r\n$7\r\nkey:big\r\n$%d\r\n%s\r\n" % (len(value), value))
    reply = b""
    while not reply.endswith(b"\r\n"):
        reply += sock.recv(64)
    if reply != b"+OK\r\n":
        raise SystemExit(f"SET failed: {reply!r}")
    request = b"*2\r\n$3\r\nGET\r\n$7\r\nkey:big\r\n"
    buffer = bytearray(len(value) + 64)
    view = memoryview(buffer)
    started = time.perf_counter()
    for _ in range(count):
        sock.sendall(request)
        received, needed = 0, None
        while needed is None or received < needed:
            n = sock.recv_into(view[received:], min(read_size, len(buffer) - received))
            if n == 0:
                raise SystemExit("the server closed the connection")
            received += n
            if needed is None and (end := buffer.find(b"\r\n", 0, received)) >= 0:
                if buffer[0:1] != b"$" or int(buffer[1:end]) != len(value):
                    raise SystemExit(f"unexpected reply: {bytes(buffer[:end])!r}")
                needed = end + 2 + len(value) + 2  # "$<length>\r\n" + value + "\r\n"
    print(count, (time.perf_counter() - started) / count * 1000)


if __name__ == "__main__":
    main()
