# wand's in-container relay: one editor connection, carried over the stdin/stdout of
# `<runtime> exec -i`, to 127.0.0.1:PORT inside the container (sys.argv[1]). Run by the target's own
# interpreter; debugpy stays bound to loopback in the container.
import os
import socket
import sys
import threading

sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))


def upstream():
    while True:
        data = os.read(0, 65536)
        if not data:
            sock.shutdown(socket.SHUT_WR)
            return
        sock.sendall(data)


threading.Thread(target=upstream, daemon=True).start()
while True:
    data = sock.recv(65536)
    if not data:
        break
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]
