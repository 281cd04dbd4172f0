# wand's in-container agent: run by the target's own interpreter through `<runtime> exec -i` (or
# `kubectl exec -i`) when wand cannot reach the container's processes from the host. Needs nothing
# in the image but that interpreter: no shell, ps or tar. wand starts it with a constant -c string
# that reads {"agent": <this file>, "request": {...}} from stdin; the answer is one JSON document on
# stdout.
#
# Requests:
#   {"op": "ps"}                                   -> {"processes": [...]}
#   {"op": "watch", "interval": S, "heartbeat": S, "serve": bool}
#                                                  -> a ps answer per line whenever processes start,
#                                                     end or exec; {"heartbeat": true} lines between;
#                                                     with serve, {"id", "request"} lines on stdin are
#                                                     answered as {"id", "answer"} lines
#   (Payload.AgentBoot reads only the first line of stdin: watch's requests follow it)
#   {"op": "lend", "pid": N, "archive": B64TAR}   -> {"path": folder for sys.path} (owned by the target's user)
#   {"op": "unlend", "path": P}                    -> {"removed": bool}
#   {"op": "inject", "pid": N, "name": "wand-HEX", "script": "...", "request": {...},
#    "safe_point": S, "result": S,
#    "pending_call": {"agent": agent_ptrace.py, "bootstrap": TEMPLATE}}
#                                                  -> the payload's result, or {"ok": false, "error": ...};
#                                                     3.9-3.13 (no sys.remote_exec): agent_ptrace.py queues it
#   {"op": "withdraw", "name": "wand-HEX"}         -> {"ok": true}; the inject request's folder is removed
#   {"op": "memory", "pid": N}                     -> stacks_agent.py's memory server (sent ahead of this file)
import json
import os
import sys
import threading
import time


def _read(path, binary=False):
    try:
        with open(path, "rb" if binary else "r") as f:
            return f.read()
    except OSError:
        return None


# wand's own helpers in the container (this agent, relay.py) are not the user's processes.
_WAND_MARKERS = ("__wand_agent__", "# wand's in-container relay")


def _process(entry):
    """One process as ps() lists it, or None when it is gone, unreadable or wand's own."""
    base = "/proc/" + entry
    cmdline = _read(base + "/cmdline", binary=True)
    stat = _read(base + "/stat")
    status = _read(base + "/status")
    if not cmdline or stat is None or status is None:
        return None
    if any(marker in cmdline.decode("utf-8", "replace") for marker in _WAND_MARKERS):
        return None
    try:
        exe = os.readlink(base + "/exe")
    except OSError:
        exe = None
    argv = cmdline.decode("utf-8", "replace").rstrip("\0").split("\0")
    denied = False
    try:
        with open(base + "/maps") as f:
            maps = f.read()
    except PermissionError:
        # The kernel hides another user's maps without CAP_SYS_PTRACE: judge by the program's name.
        maps, denied = "", True
    except OSError:
        maps = ""
    pythons = sorted({line.split()[-1] for line in maps.splitlines() if "python" in line.rsplit("/", 1)[-1] and "/" in line})
    if denied and "python" in argv[0].rsplit("/", 1)[-1]:
        pythons = [argv[0]]
    return {
        "pid": int(entry),
        "cmdline": argv,
        "stat": stat,
        "status": status,
        "exe": exe,
        "python_files": pythons,
        "denied": denied,
        "own": _same_container(base),
    }


def _identity(base):
    """What sets a container apart from the others of its pod: its mount namespace (each container has
    its own root filesystem), else its cgroup (readable for any process; the runtime puts every
    container, and whatever `exec` starts in it, into a cgroup of its own). None when neither is readable."""
    try:
        return "mnt:" + os.readlink(base + "/ns/mnt")
    except OSError:
        pass
    cgroup = _read(base + "/cgroup")
    return "cgroup:" + cgroup if cgroup else None


def _same_container(base):
    """Whether the process belongs to the container this agent was exec'd into. With the pod's
    shareProcessNamespace every container sees every process (PID 1 is the pod's pause); a process
    whose identity cannot be read counts as this container's."""
    theirs = _identity(base)
    if theirs is None:
        return True
    mine = _OWN_IDENTITY if theirs.startswith("mnt:") else _OWN_CGROUP
    return mine is None or theirs == mine


_OWN_IDENTITY = _identity("/proc/self")
_OWN_CGROUP = "cgroup:" + (_read("/proc/self/cgroup") or "")


def _pids():
    me = os.getpid()
    return [e for e in os.listdir("/proc") if e.isdigit() and int(e) != me]


def _listing(processes):
    tcp = (_read("/proc/net/tcp") or "") + (_read("/proc/net/tcp6") or "")
    return {"ok": True, "processes": processes, "uptime": _read("/proc/uptime"), "clk_tck": os.sysconf("SC_CLK_TCK"), "tcp": tcp,
            "machine": os.uname().machine}


def ps():
    return _listing([p for p in map(_process, _pids()) if p is not None])


def watch(request):
    """Prints a ps() listing as one JSON line whenever a process starts, ends or execs (checked every
    `interval` seconds), else a heartbeat line every `heartbeat` seconds; ends when nobody reads."""
    interval = request.get("interval", 0.05)
    heartbeat = request.get("heartbeat", 1.0)
    known = {}  # pid -> (cmdline, first seen, listing entry or None)
    last = 0.0
    while True:
        now = time.monotonic()
        changed = False
        pids = set(_pids())
        for pid in list(known):
            if pid not in pids:
                changed = changed or known.pop(pid)[2] is not None
        for pid in pids:
            cmdline = _read("/proc/" + pid + "/cmdline", binary=True)
            old = known.get(pid)
            # A young process that is not (yet) Python may exec it or load it in a moment: look again.
            fresh = old is not None and old[0] == cmdline and (old[2] is None or old[2]["python_files"] or now - old[1] > 5)
            if fresh:
                continue
            entry = _process(pid)
            before = old[2] if old else None
            if (entry is not None or before is not None) and (before is None or entry is None or before["cmdline"] != entry["cmdline"]
                                                             or before["python_files"] != entry["python_files"]):
                changed = True
            known[pid] = (cmdline, old[1] if old else now, entry)
        if changed or now - last >= heartbeat:
            _emit(_listing([e for _, _, e in known.values() if e is not None]) if changed else {"ok": True, "heartbeat": True})
            last = now
        time.sleep(interval)


def inject(request):
    pid = request["pid"]
    st = os.stat("/proc/%d" % pid)
    workdir = _private_folder(request["name"], random=False) if _wand_name(request.get("name")) else None
    if workdir is None:
        return _NO_WORKDIR
    try:
        with open(os.path.join(workdir, "request.json"), "w") as f:
            json.dump(request["request"], f)
        script = os.path.join(workdir, "run.py")
        with open(script, "w") as f:
            f.write("_WAND_DIR = %r\n" % workdir + request["script"])
        for path in (workdir, script, os.path.join(workdir, "request.json")):
            os.chown(path, st.st_uid, st.st_gid)
        ptrace = _ptrace(request)
        if ptrace is None:
            sys.remote_exec(pid, script)
            return _wait(request, workdir, None)
        try:
            ptrace.check()
            with ptrace.lock(pid, request["safe_point"]):
                ptrace.queue(pid, workdir, "run.py", request["pending_call"]["bootstrap"], request["safe_point"])
                return _wait(request, workdir, lambda: ptrace.withdraw(script))
        except ptrace.Failure as e:
            return {"ok": False, "error": e.error, "detail": e.detail}
    finally:
        _remove(workdir)


def _ptrace(request):
    """agent_ptrace.py (sent with the request) for a Python without sys.remote_exec (3.9-3.13), else None."""
    if hasattr(sys, "remote_exec") or "pending_call" not in request:
        return None
    module = type(sys)("agent_ptrace")
    exec(request["pending_call"]["agent"], module.__dict__)
    return module


def _wait(request, workdir, withdraw):
    """The payload's answer once it is in result.json; withdraw() takes a queued request back (False:
    too late, it runs); without it, removing the script does (sys.remote_exec reads it at the safe point)."""
    pid = request["pid"]
    result_path = os.path.join(workdir, "result.json")
    # written by prelude.py once the safe point is reached; run.py.claimed by pending_call.py
    started = (os.path.join(workdir, "started"), os.path.join(workdir, "run.py.claimed"))
    running = False
    deadline = time.monotonic() + request["safe_point"]
    while not os.path.exists(result_path):
        if not os.path.exists("/proc/%d" % pid):
            return {"ok": False, "error": "target-exited"}
        if not os.path.isdir(workdir):
            return {"ok": False, "error": "withdrawn"}  # by a withdraw request (wand's Ctrl+C)
        if not running and any(map(os.path.exists, started)):
            running = True
            deadline = time.monotonic() + request["result"]
        if time.monotonic() > deadline:
            if not running and withdraw is not None and not withdraw():
                running = True  # claimed just now: it runs
                deadline = time.monotonic() + request["result"]
                continue
            # Before the safe point, removing the script withdraws the request: a late safe point
            # finds no file to run. After it, the payload is running and gave no answer in time.
            return {"ok": False, "error": "no-answer" if running else "timeout"}
        time.sleep(0.002)
    with open(result_path) as f:
        return json.load(f)


def withdraw(request):
    """Removes the folder of an inject request that wand no longer waits for (Ctrl+C killed the exec
    that made it): a payload still running sees its request gone and stops (exec_capture.py), and
    nothing stays behind even if the agent that made the folder went away with its exec."""
    name = request.get("name")
    if not _wand_name(name):
        return {"ok": False, "error": "not-wand", "detail": str(name)}
    for parent in _TEMP_PARENTS:
        _remove(os.path.join(parent, name))
    return {"ok": True}


def _wand_name(name):
    """Whether name is one wand gives its request folders (wand- and 16 hex digits)."""
    return isinstance(name, str) and len(name) == 21 and name.startswith("wand-") and all(c in "0123456789abcdef" for c in name[5:])


def _remove(folder):
    try:
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)
    except OSError:
        pass  # already removed (withdrawn)


_TEMP_PARENTS = ("/tmp", "/dev/shm", "/var/tmp")
_NO_WORKDIR = {"ok": False, "error": "no-workdir", "detail": "no writable /tmp, /dev/shm or /var/tmp"}


def _private_folder(prefix, random=True):
    """A new folder (mode 0700) named prefix (+ random) in the first writable temp folder, or None."""
    for parent in _TEMP_PARENTS:
        try:
            folder = os.path.join(parent, prefix + (os.urandom(8).hex() if random else ""))
            os.mkdir(folder, 0o700)
            return folder
        except OSError:
            pass
    return None


def lend(request):
    """Unpacks a package (an uncompressed tar, base64) into a new wand-lent-* folder owned by the
    target's user; the folder goes on the target's sys.path."""
    import base64
    import io
    import tarfile

    st = os.stat("/proc/%d" % request["pid"])
    data = base64.b64decode(request["archive"])
    folder = _private_folder("wand-lent-")
    if folder is None:
        return _NO_WORKDIR
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        # wand's own archive; the "data" filter where tarfile has it (3.12, and 3.9-3.11 updates since 2023)
        archive.extractall(folder, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    for root, dirs, files in os.walk(folder):
        for name in [root] + [os.path.join(root, f) for f in files]:
            os.chown(name, st.st_uid, st.st_gid)
    return {"ok": True, "path": folder}


def unlend(request):
    """Removes a folder made by lend (only a wand-lent-* folder directly in a temp folder)."""
    import shutil

    path = os.path.realpath(request["path"])
    if os.path.dirname(path) not in _TEMP_PARENTS or not os.path.basename(path).startswith("wand-lent-"):
        return {"ok": False, "error": "not-lent", "detail": path}
    shutil.rmtree(path, ignore_errors=True)
    return {"ok": True, "removed": not os.path.exists(path)}


def handle(request):
    """One request's answer (ps, inject, lend, unlend)."""
    try:
        op = request["op"]
        if op == "ps":
            return ps()
        if op == "inject":
            return inject(request)
        if op == "lend":
            return lend(request)
        if op == "unlend":
            return unlend(request)
        if op == "withdraw":
            return withdraw(request)
        return {"ok": False, "error": "unknown-op"}
    except PermissionError as e:
        return {"ok": False, "error": "permission", "detail": str(e)}
    except Exception as e:
        return {"ok": False, "error": "agent-failed", "detail": "%s: %s" % (type(e).__name__, e)}


def serve():
    """Watch mode's second job: requests arrive one JSON line each on stdin ({"id", "request"}) and
    are answered, each in its own thread, as {"id", "answer"} lines between the listings. The end of
    stdin (wand or its exec went away) ends the agent."""
    def answer(message):
        request = message["request"]
        if request.get("op") in ("inject", "lend") and os.path.realpath("/proc/self/exe") != os.path.realpath("/proc/%d/exe" % request["pid"]):
            # sys.remote_exec wants the target's own interpreter: wand runs it through a fresh exec.
            result = {"ok": False, "error": "other-interpreter"}
        else:
            result = handle(request)
        _emit({"id": message["id"], "answer": result})

    def loop():
        busy = []
        for line in sys.stdin:
            if line.strip():
                busy.append(threading.Thread(target=answer, args=(json.loads(line),), daemon=True))
                busy[-1].start()
        # wand went away: requests under way get a moment to clean up their files, then the agent ends.
        deadline = time.monotonic() + 5
        for t in busy:
            t.join(max(0, deadline - time.monotonic()))
        os._exit(0)

    threading.Thread(target=loop, daemon=True).start()


# Made once, before any thread can emit: made lazily, two threads could each make one and
# interleave their lines.
_OUT = threading.Lock()


def _emit(message):
    """One JSON line on stdout; the watch loop and the answering threads take turns."""
    with _OUT:
        try:
            sys.stdout.write(json.dumps(message) + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):
            os._exit(0)


def main(request):
    if request["op"] == "memory":
        memory(request)  # noqa: F821 (stacks_agent.py, sent ahead of this file by `wand stacks`)
        return
    if request["op"] == "watch":
        if request.get("serve"):
            serve()
        try:
            watch(request)
        except (BrokenPipeError, KeyboardInterrupt):
            pass
        return
    sys.stdout.write(json.dumps(handle(request)))
    sys.stdout.flush()


main(REQUEST)
