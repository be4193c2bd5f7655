#!/usr/bin/env python3
"""slow_http_server.py: a real HTTP server, in its own process, that holds
every response for a while and counts how many requests it is serving at once.

    python3 slow_http_server.py [--delay-ms 200] [--gather N [--gather-ms 20000]]

Listens on 127.0.0.1, port 0 (the kernel picks one), and prints the port on
the first line of stdout once it accepts connections. Endpoints:

    GET /stats        {"requests": N, "in_flight": N, "max_in_flight": N},
                      answered at once and not counted
    GET /<anything>   waits --delay-ms, then answers "ok <path>\n"

With --gather N, a request is also held until N requests are in flight
together (then all of them go), so a test of concurrency need not race a
clock: clients that overlap are seen overlapping however slowly they start.
A gather that does not happen within --gather-ms gives up for good, and the
requests go on one by one, so a test whose clients cannot overlap fails on
the count after one wait instead of hanging.

It exits on SIGTERM/SIGINT, and when its stdin reaches end of file (so a test
that dies without stopping it does not leave it running).
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Counter:
    def __init__(self):
        self.cond = threading.Condition()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.gather = 0          # hold requests until this many are in flight
        self.gather_s = 20.0     # ...or until this long has passed, once
        self.gathered = False

    def enter(self):
        with self.cond:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.gather and not self.gathered:
                if self.in_flight >= self.gather:
                    self.gathered = True
                    self.cond.notify_all()
                elif not self.cond.wait_for(lambda: self.gathered, self.gather_s):
                    self.gathered = True  # gave up: the rest go one by one
                    self.cond.notify_all()

    def leave(self):
        with self.cond:
            self.in_flight -= 1

    def snapshot(self):
        with self.cond:
            return {"requests": self.requests, "in_flight": self.in_flight,
                    "max_in_flight": self.max_in_flight}


COUNTER = Counter()
DELAY_S = 0.2


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, body):
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/stats":
            self.reply(json.dumps(COUNTER.snapshot()) + "\n")
            return
        # A request leaves before its reply goes out: once the client has the
        # reply it may send the next request, which must not find this one
        # still counted (that raced, and showed 2 in flight for 1 client).
        COUNTER.enter()
        try:
            time.sleep(DELAY_S)
        finally:
            COUNTER.leave()
        self.reply("ok %s\n" % self.path)

    def log_message(self, *args):  # quiet: the test prints what matters
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # 50 clients connect at once; the default is 5

    def handle_error(self, request, client_address):
        # A client that gave up (a test's gs::Timeout, a killed greenlet) is
        # not the server's error: no traceback for a vanished peer.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main():
    global DELAY_S
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay-ms", type=int, default=200)
    parser.add_argument("--gather", type=int, default=0)
    parser.add_argument("--gather-ms", type=int, default=20000)
    args = parser.parse_args()
    DELAY_S = args.delay_ms / 1000.0
    COUNTER.gather = args.gather
    COUNTER.gather_s = args.gather_ms / 1000.0

    server = Server(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))

    def exit_at_stdin_eof():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        os._exit(0)

    threading.Thread(target=exit_at_stdin_eof, daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
