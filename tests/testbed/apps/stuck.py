"""A process that is really stuck, for `wand stacks` tests (lines marked `# STACK: name`).

python stuck.py deadlock: the main thread deadlocks on a threading.Lock acquired twice, a thread named
  "sleeper" sleeps in time.sleep, a thread named "receiver" blocks in socket.recv on a socketpair.
python stuck.py busy: not stuck; the main thread runs Python code without pause, so its frames change
  under every read.
python stuck.py gil: the main thread runs a regular expression with catastrophic backtracking. The
  sre engine (Modules/_sre/sre_lib.h) never releases the GIL and never returns to the eval loop, so
  the thread holds the GIL in C for hours; time.sleep, hashlib on big buffers and socket calls release it.
"""

import re
import socket
import sys
import threading
import time


def sleeper():
    time.sleep(3600)  # STACK: sleep


def receiver(sock):
    sock.recv(1)  # STACK: recv


def deadlock():
    lock = threading.Lock()
    lock.acquire()
    print("ready", flush=True)
    lock.acquire()  # STACK: acquire


def hold_gil():
    pattern = re.compile(r"(a+)+$")
    text = "a" * 64 + "b"
    print("ready", flush=True)
    pattern.match(text)  # STACK: match


def spin(n):  # STACK: spin-def
    return n * 2 + 1  # STACK: spin


def busy():
    total = 0
    print("ready", flush=True)
    while True:  # STACK: while
        total = spin(total) % 1000  # STACK: busy


def main(mode):
    if mode == "deadlock":
        ours, theirs = socket.socketpair()
        threading.Thread(target=sleeper, name="sleeper", daemon=True).start()
        threading.Thread(target=receiver, args=(ours,), name="receiver", daemon=True).start()
        deadlock()  # STACK: main-deadlock
    elif mode == "busy":
        busy()  # STACK: main-busy
    else:
        hold_gil()  # STACK: main-gil


main(sys.argv[1])  # STACK: module
