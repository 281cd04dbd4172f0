# rdg launcher: `rdg debug` writes this file and a config.json into a private folder and runs
#     INTERPRETER [interpreter options] rdg_launcher.py CONFIG_JSON
# with the interpreter the user named, so the user's program runs in that interpreter, in this
# process, as `python SCRIPT | -m MODULE | -c CODE ARGS...` would run it. Pure Python 3.8+ and any
# debugpy 1.6+ (nothing newer is used; pydevd internals are reached only where debugpy has no public
# API, with a fallback each). Events go to rdg over a Unix socket as JSON lines; rdg prints the
# connection details and keeps the session record. Nothing of this file appears in the user's stack:
# the program runs in a fresh __main__ module and tracebacks start at the program's own frames.
#
# Modes:
#   debug       debugpy listens before the program starts; with wait, the program starts once an
#               editor is attached and configured, and stops first at the program's first line.
#   lite        nothing is imported; a watcher thread blocks reading a FIFO (0600, private folder).
#               `rdg attach` writes "activate" into it: the read returns in that thread whatever the
#               main thread does, so activation works while the main thread sits in a long C call
#               that releases the GIL (sleep, I/O, numpy/torch kernels). Only a C call that holds the
#               GIL for its whole duration delays it, as it delays every Python thread and PEP 768.
#   post_mortem on an uncaught exception the traceback is kept (its frames keep their locals),
#               debugpy listens and the editor is shown those frames, innermost first, as an
#               unhandled-exception stop (pydevd builds the stack from the traceback). Without an
#               editor for post_mortem_timeout seconds, the process exits with status 1.


import json
import os
import sys
import threading

# This file, as the interpreter runs it (its frames are skipped in tracebacks and hidden from pydevd).
LAUNCHER_FILE = os.path.realpath(__file__)


class Run(object):
    """What one launcher run shares: its config, rdg's channel, where debugpy listens, and whether
    this file's frames are hidden from pydevd."""

    def __init__(self, config):
        self.config = config
        self.channel = None
        self.listening = None
        self.hidden = False
        self.lock = threading.Lock()


def connect_channel(run):
    path = run.config.get("control")
    if not path:
        return
    try:
        import socket

        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        run.channel = s
    except OSError:
        run.channel = None


def event(run, name, **fields):
    fields["event"] = name
    line = (json.dumps(fields) + "\n").encode("utf-8")
    with run.lock:
        s = run.channel
        if s is None:
            return
        try:
            s.sendall(line)
        except OSError:
            run.channel = None


def find_debugpy(config):
    """debugpy from the program's own environment first, else the copy rdg lends."""
    import importlib.util

    if importlib.util.find_spec("debugpy") is not None:
        return True
    lend = config.get("debugpy_path")
    if lend and os.path.isdir(lend):
        sys.path.append(os.path.dirname(lend))
        importlib.invalidate_caches()
        return importlib.util.find_spec("debugpy") is not None
    return False


def listen(run, reason):
    """Starts debugpy (once) and reports where it listens (reason: start, activate, crash)."""
    if run.listening is not None:
        return run.listening
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    import debugpy

    host = run.config["host"]
    port = int(run.config.get("port") or 0)
    if port == 0:
        port = free_port(host, int(run.config.get("preferred_port") or 0))
    endpoint = debugpy.listen((host, port))
    if not isinstance(endpoint, tuple):  # debugpy < 1.8 returned None on some paths
        endpoint = (host, port)
    run.listening = (endpoint[0], int(endpoint[1]))
    hide_launcher(run)
    debugpy._rdg_endpoint = run.listening  # remote_debug.start_debugger() reuses it
    event(run, "listening", host=endpoint[0], port=int(endpoint[1]), debugpy=getattr(debugpy, "__version__", "?"), reason=reason)
    return run.listening


def hide_launcher(run):
    """The program runs below this file's frames; pydevd is told they are its own (its
    dont-trace patterns, a PyDevdAPI call since pydevd 1.6/debugpy 1.0): never traced, never
    in a stack the editor shows, with justMyCode on or off. Without that API, they show."""
    try:
        import pydevd
        from _pydevd_bundle.pydevd_api import PyDevdAPI

        py_db = pydevd.get_global_debugger()
        if py_db is None:
            return
        names = {LAUNCHER_FILE, os.path.abspath(__file__), os.path.abspath(_rdg_main.__code__.co_filename)}
        PyDevdAPI().set_dont_trace_start_end_patterns(py_db, (), tuple(sorted(names)))
        run.hidden = True
    except Exception as e:
        event(run, "warning", warning="launcher-frames-visible", detail="%s: %s" % (type(e).__name__, e))


def free_port(host, preferred):
    """The preferred port if it can be bound, else one the system picks (bound, read, released)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for candidate in ([preferred] if preferred else []) + [0]:
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.bind((host, candidate))
            return s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
    raise OSError("no free port on %s" % host)


def wait_for_client(timeout):
    """True once an editor is attached; False after timeout seconds (None: forever)."""
    import time
    import debugpy

    if timeout is None:
        debugpy.wait_for_client()
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if debugpy.is_client_connected():
            return True
        time.sleep(0.1)
    return debugpy.is_client_connected()


# ---- lite: the watcher ------------------------------------------------------------------------
def arm(run):
    fifo = os.path.join(run.config["fifo_dir"], "lite-%d.fifo" % os.getpid())
    try:
        os.unlink(fifo)
    except OSError:
        pass
    os.mkfifo(fifo, 0o600)
    # O_RDWR: the read end never sees EOF when a writer closes, so one blocking read per request.
    fd = os.open(fifo, os.O_RDWR)
    t = threading.Thread(target=watch, args=(run, fd, fifo), name="rdg-lite-watcher", daemon=True)
    t.start()
    event(run, "armed", fifo=fifo)
    return fifo


def watch(run, fd, fifo):
    pending = b""
    while True:
        try:
            chunk = os.read(fd, 256)
        except OSError:
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.strip() == b"activate":
                activate(run, fifo)


def activate(run, fifo):
    status = fifo[: -len(".fifo")] + ".json"
    try:
        host, port = listen(run, "activate")
        result = {"ok": True, "host": host, "port": port, "pid": os.getpid()}
    except BaseException as e:  # reported to `rdg attach`, never raised into the program
        result = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        event(run, "error", error="listen-failed", detail=result["error"])
    tmp = status + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, status)


# ---- running the program as python would --------------------------------------------------------
def compile_program(source, filename, stop, hidden):
    """The program's code; with stop, a `debugpy.breakpoint()` is put before its first statement,
    so the debugger stops at the program's first line in the program's own frame (never in the
    launcher). Docstring and `from __future__` imports stay first. hidden: this file's frames are
    hidden from pydevd (hide_launcher)."""
    import ast

    if not stop:
        return compile(source, filename, "exec", dont_inherit=True)
    tree = ast.parse(source, filename)
    at = 0
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
        at = 1
    while at < len(body) and isinstance(body[at], ast.ImportFrom) and body[at].module == "__future__":
        at += 1
    stop_here = "__import__('debugpy').breakpoint()"  # called from the program's frame: it stops in that frame
    call = ast.parse(("if __import__('_rdg_entry').wanted(): " if hidden else "") + stop_here).body[0]
    # Where the stop shows: with the launcher hidden from pydevd, it stops on the call's own line,
    # so the call takes the first statement's line; otherwise at the next line event (line 0 then).
    line = body[at].lineno if hidden and at < len(body) else 0
    for node in ast.walk(call):
        if hasattr(node, "lineno"):
            node.lineno = line
            node.end_lineno = line
            node.col_offset = 0
            node.end_col_offset = 0
    body.insert(at, call)
    return compile(tree, filename, "exec", dont_inherit=True)


def entry_wanted():
    """Whether the first stop (compile_program, launcher hidden) is still wanted on the program's
    first statement line: not when the editor's own unconditional breakpoint on that line has just
    stopped there (its line event comes before the inserted call)."""
    frame = sys._getframe(1)
    try:
        import pydevd
        import pydevd_file_utils

        key = pydevd_file_utils.canonical_normalized_path(frame.f_code.co_filename)
        bp = (pydevd.get_global_debugger().breakpoints.get(key) or {}).get(frame.f_lineno)
        return bp is None or bool(getattr(bp, "condition", None) or getattr(bp, "hit_condition", None) or getattr(bp, "is_logpoint", False))
    except Exception:
        return True
    finally:
        frame = None


def fresh_main(filename):
    import types

    main = types.ModuleType("__main__")
    main.__dict__.update({"__file__": filename, "__cached__": None, "__loader__": None, "__spec__": None, "__package__": None})
    if filename is None:
        del main.__file__
    sys.modules["__main__"] = main
    return main


def run_program(config, stop, hidden):
    """Runs the program as `python SCRIPT | -c CODE | -m MODULE ARGS...` would (stop, hidden: see
    compile_program)."""
    target = config["target"]
    kind = target["kind"]
    safe_path = bool(config.get("safe_path"))
    if kind == "script":
        path = target["value"]
        sys.argv[:] = [path] + list(target["args"])
        if not safe_path:
            sys.path[0] = os.path.dirname(os.path.realpath(path))
        if os.path.isdir(path) or not path.endswith(".py") and is_zip(path):
            import runpy

            runpy.run_path(path, run_name="__main__")
            return
        import io

        with io.open_code(path) as f:
            source = f.read()
        path = os.path.abspath(path)  # as python 3.9+ does for __main__.__file__ and tracebacks
        main = fresh_main(path)
        code = compile_program(source, path, stop, hidden)
        exec(code, main.__dict__)
    elif kind == "code":
        sys.argv[:] = ["-c"] + list(target["args"])
        if not safe_path:
            sys.path[0] = ""
        main = fresh_main(None)
        # No first-line stop for -c: "<string>" is no file an editor could show (breakpoints need a file anyway).
        code = compile_program(target["value"], "<string>", False, hidden)
        exec(code, main.__dict__)
    else:
        import runpy

        sys.argv[:] = ["-m"] + list(target["args"])
        if not safe_path:
            sys.path[0] = os.getcwd()
        mod_name, spec, code = runpy._get_module_details(target["value"])
        if stop:
            try:
                source = spec.loader.get_source(mod_name)
                if source is not None:
                    code = compile_program(source, spec.origin, True, hidden)
            except Exception:
                pass  # no source (a .pyc only): no first-line stop, breakpoints still work
        main = fresh_main(spec.origin)
        sys.argv[0] = spec.origin
        main.__dict__.update({"__spec__": spec, "__loader__": spec.loader, "__package__": spec.parent, "__cached__": spec.cached})
        exec(code, main.__dict__)


def is_zip(path):
    import zipfile

    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def user_traceback(tb):
    """The traceback from the program's first frame on (the launcher and runpy frames dropped)."""
    import runpy

    skip = {LAUNCHER_FILE, os.path.realpath(runpy.__file__)}
    while tb is not None and tb.tb_next is not None and os.path.realpath(tb.tb_frame.f_code.co_filename) in skip:
        tb = tb.tb_next
    return tb


def post_mortem(run, exc_type, exc, tb):
    """Keeps the crashed frames alive, waits for an editor and shows it those frames."""
    import time

    try:
        host, port = listen(run, "crash")
    except BaseException as e:
        event(run, "error", error="listen-failed", detail="%s: %s" % (type(e).__name__, e))
        return
    timeout = float(run.config.get("post_mortem_timeout") or 1800)
    event(run, "crashed", exception="%s: %s" % (exc_type.__name__, exc), host=host, port=port, timeout=timeout)
    import debugpy

    while wait_for_client(timeout):
        show_crash(exc_type, exc, tb)
        # The editor resumed (still connected: the program may end) or went away: then stay for
        # another editor until the idle timeout.
        time.sleep(0.5)
        if debugpy.is_client_connected():
            return
    event(run, "post-mortem-timeout", timeout=timeout)


def show_crash(exc_type, exc, tb):
    """An unhandled-exception stop whose stack is the traceback's frames (pydevd's own post-mortem
    path: PyDB.do_stop_on_unhandled_exception -> do_wait_suspend with the traceback)."""
    frames = []
    t = tb
    while t is not None:
        frames.append(t.tb_frame)
        t = t.tb_next
    try:
        import pydevd
        from _pydevd_bundle.pydevd_additional_thread_info import set_additional_thread_info

        py_db = pydevd.get_global_debugger()
        thread = threading.current_thread()
        set_additional_thread_info(thread)
        # pydevd makes this call from inside its trace/monitoring callback, where the interpreter
        # delivers no events. Made from plain code on a traced thread, the thread is already marked
        # suspended when do_wait_suspend calls its first traced function (contextlib's helper for
        # `with track_frames()`), and pydevd stops there a second time, with no exception: with
        # justMyCode off the editor got that library frame on top, "type unknown", and pydevd's
        # "Error getting exception type" in the job's output. So no events on this thread while
        # it stops (PyDB.disable_tracing: settrace(None), or sys.monitoring's per-thread switch).
        # That switch lives in the thread's ThreadInfo, which pydevd creates at the thread's first
        # event or at enable_tracing: on a thread with none yet, disable_tracing does nothing and
        # the next event creates it switched on. Hence enable first.
        py_db.enable_tracing()
        py_db.disable_tracing()
        try:
            py_db.do_stop_on_unhandled_exception(thread, frames[-1], dict((id(f), f) for f in frames), (exc_type, exc, tb))
        finally:
            py_db.enable_tracing()
    except Exception:
        # Fallback for a pydevd without that method: stop here, with the crash in reach.
        import debugpy

        __exception__ = (exc_type, exc, tb)  # noqa: F841 -- visible in the editor's Locals
        crashed_frame_locals = frames[-1].f_locals  # noqa: F841
        debugpy.breakpoint()


def untrace_this_thread():
    """No debugger events on this thread from here on: the program is over and what follows is the
    launcher's own exit with status 1. With settrace (PYDEVD_USE_SYS_MONITORING=0, or Python < 3.12),
    pydevd puts its TopLevelThreadTracerNoBackFrame on the thread's top frame (this file's <module>,
    f_back None) and reports an exception leaving it as uncaught; debugpy's default "uncaught" filter
    includes SystemExit with a non-zero code, and with justMyCode off nothing filters this file's
    frames (the dont-trace patterns are not consulted there). So the launcher's sys.exit(1) after a
    crash became a second stop, "SystemExit: 1", that the editor had to continue before the process
    could end. PyDB.disable_tracing: settrace(None) here (CPython calls no frame's f_trace on a
    thread without a trace function), or sys.monitoring's per-thread switch."""
    pydevd = sys.modules.get("pydevd")  # never imported here: only a debugger already loaded matters
    if pydevd is None:
        return
    try:
        py_db = pydevd.get_global_debugger()
        if py_db is not None:
            py_db.disable_tracing()
    except Exception:
        pass


# ---- the flow ---------------------------------------------------------------------------------
def _rdg_main():
    config_path = sys.argv[1]
    with open(config_path, "rb") as f:
        config = json.loads(f.read().decode("utf-8"))
    run = Run(config)
    target = config["target"]
    connect_channel(run)
    mode = config["mode"]
    needs_debugpy = mode == "debug" or config.get("post_mortem") or mode == "lite"
    event(run, "started", pid=os.getpid(), python=sys.version.split()[0], executable=sys.executable, cwd=os.getcwd())
    if needs_debugpy and not find_debugpy(config):
        event(run, "error", error="debugpy-missing", detail=" ".join(sys.path))
        sys.stderr.write("rdg: debugpy is not installed for %s (and rdg found no copy to lend)\n" % sys.executable)
        sys.stderr.flush()
        os._exit(12)
    if target["kind"] == "script" and not os.path.exists(target["value"]):
        sys.stderr.write("%s: can't open file %r: [Errno 2] No such file or directory\n" % (sys.executable, target["value"]))
        os._exit(2)

    import types

    entry = types.ModuleType("_rdg_entry")
    entry.wanted = entry_wanted
    sys.modules["_rdg_entry"] = entry

    stop = False
    if mode == "debug":
        try:
            listen(run, "start")
        except BaseException as e:
            event(run, "error", error="listen-failed", detail="%s: %s" % (type(e).__name__, e))
            os._exit(13)
        if config.get("wait", True):
            event(run, "waiting")
            wait_for_client(None)
            event(run, "attached")
            stop = bool(config.get("stop_on_entry"))
    elif mode == "lite":
        arm(run)

    try:
        run_program(config, stop, run.hidden)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        raise
    except BaseException:
        exc_type, exc, tb = sys.exc_info()
        tb = user_traceback(tb)
        exc.__traceback__ = tb  # 3.13+ print the exception's own traceback, not the hook's argument
        sys.excepthook(exc_type, exc, tb)
        sys.stderr.flush()
        if config.get("post_mortem"):
            post_mortem(run, exc_type, exc, tb)
        event(run, "finished", status=1)
        untrace_this_thread()
        sys.exit(1)
    event(run, "finished", status=0)


if __name__ == "__main__":
    _rdg_main()
