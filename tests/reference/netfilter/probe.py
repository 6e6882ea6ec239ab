#!/usr/bin/python3
"""One connection attempt, and what the socket said about it (used by capture.sh inside a namespace).

  probe.py tcp HOST PORT [TIMEOUT_S]            connect(); prints 'connected' or the errno name
  probe.py udp HOST PORT [BIND_ADDR:PORT] [TIMEOUT_S]
                                                connect() + send(b'x\\n') + recv(); prints 'reply N bytes',
                                                the errno name (ECONNREFUSED: an ICMP error came back) or 'timeout'
Prints one line: PROTO LOCAL -> HOST:PORT: RESULT"""
import errno
import socket
import sys


def name(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__


def main():
    proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    extra = sys.argv[4:]
    if proto == "tcp":
        timeout = float(extra[0]) if extra else 3.0
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            res = "connected"
        except socket.timeout:
            res = "timeout"
        except OSError as e:
            res = name(e)
    elif proto == "udp":
        bind = None
        if extra and ":" in extra[0]:
            a, p = extra.pop(0).rsplit(":", 1)
            bind = (a, int(p))
        timeout = float(extra[0]) if extra else 1.0
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if bind:
            s.bind(bind)
        s.connect((host, port))
        s.settimeout(timeout)
        try:
            s.send(b"x\n")
            data = s.recv(2048)
            res = "reply %d bytes" % len(data)
        except socket.timeout:
            res = "timeout"
        except OSError as e:
            res = name(e)
    else:
        sys.exit("probe.py: protocol must be tcp or udp, not %r" % proto)
    local = "%s:%d" % s.getsockname()
    print("%s %s -> %s:%d: %s" % (proto, local, host, port, res), flush=True)
    s.close()


if __name__ == "__main__":
    main()
