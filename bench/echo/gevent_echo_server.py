"""gevent_echo_server.py: gevent's StreamServer echo server for
bench/io_compare.sh, the same program as examples/echo_server in gevent.

    /usr/bin/python3 bench/echo/gevent_echo_server.py [--port N] [--host ADDR]

Prints "listening on HOST:PORT" once it accepts connections (with --port 0,
the port the kernel chose), as examples/echo_server does; stops on
SIGINT/SIGTERM. One greenlet per connection: recv(65536), sendall(), with
gevent's defaults (compiled modules, libev loop).
"""
import argparse
import signal
import sys

import gevent
from gevent.server import StreamServer


def echo(conn, _peer):
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = StreamServer((args.host, args.port), echo)
    server.start()
    print("listening on %s:%d" % (server.server_host, server.server_port), flush=True)
    gevent.signal_handler(signal.SIGINT, server.stop, 1)
    gevent.signal_handler(signal.SIGTERM, server.stop, 1)
    server.serve_forever()
    print("gevent_echo_server: stopped (gevent %s, loop %s)" % (gevent.__version__, type(gevent.get_hub().loop).__module__),
          file=sys.stderr)


if __name__ == "__main__":
    main()
