# wand's memory server for `wand stacks --route exec`: run inside the container by agent.py (op
# "memory") with the container's own interpreter, it hands wand the bytes wand asks for, so the
# one reader of the interpreter state stays wand's (C#). Nothing is written anywhere; nothing runs
# in the target: /proc/PID/mem is opened read-only.
#
# First answer line (JSON): {"ok": true, "exe": ..., "maps": ..., "comm": ..., "status": ...,
#   "tasks": {"TID": {"comm", "syscall", "wchan", "status"}}}, or {"ok": false, "error": ..., "detail": ...}.
# Then one request line, one answer line, until stdin ends:
#   "m ADDR LEN"        bytes of the target's memory at ADDR (hex)  -> "+BASE64" or "-ERRNO"
#   "f HEXPATH OFF LEN" bytes of a file as the target sees it        -> "+BASE64" or "-ERRNO"
#   "s HEXPATH"         a file's size                               -> "+SIZE" or "-ERRNO"
import base64
import errno
import os
import sys

_MAX_READ = 64 << 20


def _text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return None


def _snapshot(pid):
    base = "/proc/%d" % pid
    tasks = {}
    try:
        tids = os.listdir(base + "/task")
    except OSError:
        tids = []
    for tid in tids:
        task = "%s/task/%s/" % (base, tid)
        tasks[tid] = {name: _text(task + name) for name in ("comm", "syscall", "wchan", "status")}
    return {
        "ok": True,
        "exe": os.readlink(base + "/exe"),
        "maps": _text(base + "/maps"),
        "comm": _text(base + "/comm"),
        "status": _text(base + "/status"),
        "tasks": tasks,
    }


def _answer(out, data):
    out.write(b"+" + base64.b64encode(data) + b"\n")


def _serve(pid, mem, out):
    root = "/proc/%d/root" % pid
    for line in sys.stdin.buffer:
        parts = line.split()
        try:
            if parts[0] == b"m":
                address, length = int(parts[1], 16), int(parts[2])
                if length > _MAX_READ:
                    raise OSError(errno.EINVAL, "too long")
                _answer(out, os.pread(mem, length, address))
            elif parts[0] == b"f":
                path = root + bytes.fromhex(parts[1].decode()).decode()
                offset, length = int(parts[2]), int(parts[3])
                if length > _MAX_READ:
                    raise OSError(errno.EINVAL, "too long")
                with open(path, "rb") as f:
                    f.seek(offset)
                    _answer(out, f.read(length))
            elif parts[0] == b"s":
                out.write(b"+%d\n" % os.stat(root + bytes.fromhex(parts[1].decode()).decode()).st_size)
            else:
                out.write(b"-%d\n" % errno.EINVAL)
        except OSError as e:
            out.write(b"-%d\n" % (e.errno or errno.EIO))
        except (ValueError, IndexError):
            out.write(b"-%d\n" % errno.EINVAL)
        out.flush()


def memory(request):
    """Serves reads of one process's memory and files until wand closes stdin."""
    import json
    out = sys.stdout.buffer
    pid = int(request["pid"])
    try:
        mem = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
    except PermissionError as e:
        out.write(json.dumps({"ok": False, "error": "permission", "detail": str(e)}).encode() + b"\n")
        out.flush()
        return
    except OSError as e:
        out.write(json.dumps({"ok": False, "error": "gone", "detail": str(e)}).encode() + b"\n")
        out.flush()
        return
    try:
        try:
            first = _snapshot(pid)
        except OSError as e:
            first = {"ok": False, "error": "gone", "detail": str(e)}
        out.write(json.dumps(first).encode() + b"\n")
        out.flush()
        if first["ok"]:
            _serve(pid, mem, out)
    except BrokenPipeError:
        pass
    finally:
        os.close(mem)
