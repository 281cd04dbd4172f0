# rdg's hand-over for ranks an agent spawns (torchrun, python -m torch.distributed.run): rdg runs the
# agent itself as it is, with a sitecustomize.py on PYTHONPATH (DebugLauncher.RankHook) and RDG_CHILD_*
# variables. Every Python the agent starts imports that sitecustomize at start-up; in the one whose
# RANK is the chosen rank it loads this file and calls child_hook(), which claims the rank (first
# process only: an elastic restart or a spawned DataLoader worker of that rank inherits RANK too and
# must not take it) and replaces the process image, same PID, with rdg_launcher.py running the rank's
# own command line. So the chosen rank gets everything `rdg debug` gives one program; the other ranks
# only pay the import of a small sitecustomize. Pure Python 3.8+.

import json
import os
import sys


def split_python_argv(argv):
    """[interpreter, options..., script | -m mod | -c code, args...] -> (options, kind, value, args)."""
    options = []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--check-hash-based-pycs" and i + 1 < len(argv):
            options += [a, argv[i + 1]]
            i += 2
            continue
        if a.startswith("--") and a != "--":
            options.append(a)
            i += 1
            continue
        if a == "--":
            i += 1
            break
        if a.startswith("-") and a != "-":
            j = 1
            while j < len(a):
                ch = a[j]
                rest = a[j + 1:]
                if ch in "cm" or ch in "WX":
                    if rest:
                        value, used = rest, 1
                    elif i + 1 < len(argv):
                        value, used = argv[i + 1], 2
                    else:
                        return None
                    if ch in "cm":
                        return options, "code" if ch == "c" else "module", value, argv[i + used:]
                    options += ["-" + ch, value]
                    i += used - 1
                    break
                options.append("-" + ch)
                j += 1
            i += 1
            continue
        break
    if i >= len(argv) or argv[i] == "-":
        return None
    return options, "script", argv[i], argv[i + 1:]


def child_hook():
    """In the chosen rank's first process: claims the rank and becomes the launcher running this
    process's own command line (same PID); elsewhere returns at once."""
    config_path = os.environ.get("RDG_CHILD_CONFIG", "")
    folder = os.path.dirname(config_path)
    try:
        fd = os.open(os.path.join(folder, "rank-%s.claimed" % os.environ.get("RANK", "")), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError:
        return  # taken (or rdg is gone): run as is
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    try:
        with open("/proc/self/cmdline", "rb") as f:
            argv = [a.decode("utf-8", "surrogateescape") for a in f.read().split(b"\0")[:-1]]
    except OSError:
        argv = list(getattr(sys, "orig_argv", []))
    parsed = split_python_argv(argv) if argv else None
    if parsed is None:
        sys.stderr.write("rdg: rank %s runs without the debugger: its command line %r is not python SCRIPT, -m MODULE or -c CODE\n" % (os.environ.get("RANK"), argv))
        return
    options, kind, value, args = parsed
    with open(config_path, "rb") as f:
        config = json.loads(f.read().decode("utf-8"))
    config["target"] = {"kind": kind, "value": value, "args": list(args)}
    config["safe_path"] = any(o.startswith("-") and not o.startswith("--") and o[1:2] not in ("W", "X") and ("I" in o or "P" in o) for o in options)
    child = os.path.join(folder, "config-%d.json" % os.getpid())
    with open(child, "w") as f:
        json.dump(config, f)
    launcher = os.environ["RDG_CHILD_LAUNCHER"]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable] + options + [launcher, child])
