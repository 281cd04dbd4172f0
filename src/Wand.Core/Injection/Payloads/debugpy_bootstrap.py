# wand debugpy bootstrap (after prelude.py). Runs in the target's main thread at a safe point
# (PEP 768) and must return at once: debugpy.listen() takes about half a second, so it runs in a
# daemon thread and the application keeps serving. The result is written only after listen()
# returned, which is wand's readiness signal (a bare TCP probe would disturb debugpy's adapter).
#
# Request: {"action": "listen" | "stop", "host": str, "port": int, "debugpy_path": str | None, "direct": bool, "hold": float}
# ("hold": seconds the main thread waits for the editor's configuration, _wand_hold_until_configured; 0: it returns at once)
#
# "direct" (the default): pydevd itself accepts the editor (wand's proxy or an editor given --detach's
# port) through debugpy's in-process adapter, debugpy.listen(in_process_debug_adapter=True): no adapter
# process is started, which is most of listen()'s time (about 0.4 s: a second Python that imports
# debugpy.adapter and connects back). A debugpy without it (releases before the in-process adapter,
# debugpy PR 1050, 2022) listens through its adapter as before, and the result says so ("direct": false
# with a "note").
def _wand_debugpy():
    import os
    import sys
    import threading
    import traceback

    request = _wand_request()
    if request is None:
        return
    if request.get("hold") and _wand_import_in_the_way() is not None:
        _wand_busy("busy-importing", _wand_import_in_the_way())  # see _wand_import_in_the_way; wand sends it again
        return
    _wand_release_start_hold()
    # the listen thread runs after this script deleted its global names
    undo_changes, changes_since, start_heartbeat = _wand_undo, _wand_changes, _wand_start_heartbeat

    debugpy = sys.modules.get("debugpy")
    endpoint = getattr(debugpy, "_wand_endpoint", None)

    if request["action"] == "stop":
        _wand_stop(debugpy, endpoint)
        return

    if endpoint is not None:
        _wand_result(dict(ok=True, reused=True, host=endpoint[0], port=endpoint[1], debugpy=debugpy.__version__, direct=getattr(debugpy, "_wand_direct", False), **_wand_describe()))
        return
    if getattr(getattr(getattr(getattr(debugpy, "server", None), "api", None), "listen", None), "called", False):
        _wand_result({"ok": False, "error": "foreign-listener", "detail": "debugpy.listen() was already called by the application itself"})
        return

    # What the attach changes in the process (_wand_state), recorded before debugpy is imported and
    # put back by --stop: our PYDEVD_DISABLE_FILE_VALIDATION and the PYDEVD_USE_FRAME_EVAL that
    # debugpy's import sets (debugpy/_vendored/force_pydevd.py), which child processes would inherit;
    # the lent copy's folder on sys.path; sys.breakpointhook; pydevd's patches of thread start and
    # process spawn. os.environ and sys.path are compared here, in the main thread, so that nothing the
    # app does meanwhile is taken for ours; pydevd patches functions during listen(), in its thread.
    # uWSGI without --enable-threads (or --threads) keeps the GIL between requests (its python
    # plugin releases it only when threads are enabled: uwsgi_python_enable_threads), so debugpy's
    # threads would run only during requests and the editor would hang. uwsgi.opt is the option
    # table uWSGI itself parsed, from the command line, environment and config files alike.
    uwsgi = sys.modules.get("uwsgi")
    if uwsgi is not None:
        opt = getattr(uwsgi, "opt", None) or {}
        if not opt.get("enable-threads") and not opt.get("threads"):
            _wand_result({"ok": False, "error": "uwsgi-no-threads", "detail": "uWSGI runs without --enable-threads"})
            return

    before = _wand_state()
    copy = request.get("debugpy_path")
    if copy and copy not in sys.path:
        sys.path.append(copy)
    # pydevd warns about frozen modules on the application's stderr when it is imported; the warning
    # is about stepping into the stdlib and does not concern the user's breakpoints.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    try:
        # Imported here, in the main thread at its safe point (about 0.15 s), not in the listen
        # thread: debugpy puts its vendored pydevd on sys.path only while importing it, and a worker
        # that is still starting (multiprocessing's spawn) replaces sys.path under a concurrent import.
        with _wand_typing_extensions():
            import debugpy
            import debugpy.server.api  # noqa: F401
    except ModuleNotFoundError as e:
        _wand_undo(_wand_changes(before))
        if e.name != "debugpy":
            # A module debugpy needs and this Python lacks: on 3.9 pydevd's vendored bytecode imports
            # typing_extensions for TypeGuard (typing has it from 3.10 on).
            _wand_result({"ok": False, "error": "import-failed", "module": e.name, "detail": traceback.format_exc()})
        else:
            _wand_result({"ok": False, "error": "missing", "detail": str(e), "sys_path": list(sys.path)})
        return
    except BaseException:
        _wand_undo(_wand_changes(before))
        _wand_result({"ok": False, "error": "import-failed", "detail": traceback.format_exc()})
        return

    undo = _wand_changes(before)
    info = _wand_describe()
    worker = _wand_gunicorn_worker()

    python = _wand_adapter_python()
    trace_main_thread = _wand_trace_main_thread
    listen_in_process = _wand_listen_in_process

    def listen():
        note = None
        try:
            if python is not None:
                debugpy.configure(python=python)
            endpoint = listen_in_process(debugpy, request["host"], request["port"]) if request.get("direct", True) else None
            if endpoint is None:
                if request.get("direct", True):
                    note = "debugpy %s has no in-process adapter (debugpy.listen(in_process_debug_adapter=True)): it listens through its adapter process, about 0.4 s slower; a newer debugpy in the app avoids that" % debugpy.__version__
                endpoint = debugpy.listen((request["host"], request["port"]))
            host, port = endpoint
            trace_main_thread(debugpy)
        except BaseException as e:
            undo["functions"] = changes_since(before)["functions"]
            undo_changes(undo)
            _wand_result({"ok": False, "error": "port-in-use" if _wand_port_in_use(e) else "listen-failed", "detail": traceback.format_exc()})
            return
        try:
            undo["functions"] = changes_since(before)["functions"]
            debugpy._wand_undo = undo
            # debugpy.listen() started the adapter with this token (debugpy/server/api.py, listen:
            # "--server-access-token") and gave it to pydevd; the adapter daemonized, so its PID is
            # not kept, and the token tells wand's adapter from any other on the machine.
            debugpy._wand_adapter_token = getattr(getattr(sys.modules["pydevd"].get_global_debugger(), "authentication", None), "access_token", None)
            if worker is not None:
                debugpy._wand_heartbeat = start_heartbeat(worker)
            debugpy._wand_endpoint = (host, port)
            debugpy._wand_copy = copy
            debugpy._wand_direct = direct = note is None and request.get("direct", True)
            _wand_result(dict(ok=True, reused=False, host=host, port=port, debugpy=debugpy.__version__, direct=direct, note=note, **info))
        except BaseException:
            _wand_result({"ok": False, "error": "listen-failed", "detail": traceback.format_exc()})

    listener = threading.Thread(target=listen, name="wand-debugpy-listen", daemon=True)
    listener.start()
    if request.get("hold"):
        _wand_hold_until_configured(listener, request["hold"], worker)


def _wand_release_start_hold():
    """A worker that wand holds from its start (a gunicorn master's fork handler, fork_hold.py; werkzeug's
    lent usercustomize.py) waits until this mark says wand's attach runs here: it goes on once the
    bootstrap returns (after _wand_hold_until_configured, when that holds it)."""
    import os

    hold = getattr(os, "_wand_fork_hold", None)
    if isinstance(hold, dict):
        hold["armed"] = os.getpid()


def _wand_hold_until_configured(listener, seconds, worker):
    """A new worker that wand follows (a reload, a respawn) while an editor is connected: its main thread,
    where this script runs, stays here until the editor's breakpoints are in place, so that the first
    request it serves stops at them. PEP 768 and Py_AddPendingCall run this at the worker's next safe
    point, before it serves; left at once, the worker would import the app and serve while wand's proxy
    is still connecting and replaying the editor's configuration (about a second). pydevd sets its
    configuration-done event on the replay's configurationDone (PyDB.on_configuration_done);
    block_until_configuration_done is what debugpy.wait_for_client() waits with, and it processes
    pydevd's commands for this thread meanwhile. Bounded by `seconds`, so a wand that dies or an editor
    that leaves never keeps the app waiting longer; in a gunicorn worker, by its heartbeat timeout
    too (the arbiter kills a worker silent for longer, Arbiter.murder_workers)."""
    import sys
    import time

    if worker is not None and worker.timeout:
        seconds = min(seconds, worker.timeout)
    deadline = time.monotonic() + seconds
    listener.join(seconds)
    debugpy = sys.modules.get("debugpy")
    if listener.is_alive() or getattr(debugpy, "_wand_endpoint", None) is None:
        return  # still listening after all that time, or it failed (wand got the error)
    py_db = sys.modules["pydevd"].get_global_debugger()
    if py_db is None:
        return

    class until_deadline(object):
        """The cancel flag block_until_configuration_done polls (is_set) and sets once done."""

        done = False

        def is_set(self):
            return self.done or time.monotonic() > deadline

        def set(self):
            self.done = True

    py_db.block_until_configuration_done(until_deadline())


def _wand_may_hold_while_importing():
    """Whether a held attach (the request's "hold") may run while the worker is halfway through its imports,
    which is where PEP 768 and Py_AddPendingCall usually find a worker that has just started. Declining
    there (prelude.py) would put the attach after the app's imports, where the worker serves at once
    and the first request would not stop. See _wand_import_in_the_way for when it may not."""
    if _wand_import_in_the_way() is not None:
        return False
    request = _wand_request()
    return bool(request and request.get("hold"))


def _wand_import_in_the_way():
    """The module, if any, whose import this thread is in the middle of and which debugpy may import too:
    one of the standard library, debugpy's or typing_extensions. The held main thread keeps the module
    lock of every import it is in (importlib._bootstrap._find_and_load holds it from finding the module
    to the end of its body), and debugpy's threads importing that module would wait for it until the
    hold ends. Each _find_and_load frame names its module ("name"); the app's own modules and their
    packages are not debugpy's concern. Before 3.10 (no sys.stdlib_module_names) any import is in the way.
    Any import at all while this thread holds the interpreter-wide import lock: importlib takes it around
    every finder's find_spec (_find_spec, _ImportLockContext) and in _get_module_lock, and each import of
    debugpy's threads takes it too, so they would wait for the whole hold (seen: a uvicorn worker stopped
    in FileFinder._fill_cache, debugpy's listen() waiting 10 s in _get_module_lock)."""
    import sys

    stdlib = getattr(sys, "stdlib_module_names", None)
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name in ("_find_spec", "_get_module_lock") and code.co_filename.startswith("<frozen importlib"):
            name = frame.f_locals.get("name")
            return name if isinstance(name, str) else "?"
        if code.co_name == "_find_and_load" and code.co_filename.startswith("<frozen importlib"):
            name = frame.f_locals.get("name")
            top = name.split(".")[0] if isinstance(name, str) else ""
            if stdlib is None or top in stdlib or top in ("debugpy", "pydevd", "typing_extensions") or top.startswith("_pydev"):
                return name or "?"
        frame = frame.f_back
    return None


def _wand_port_in_use(e):
    # pydevd's in-process listener raises the OSError itself; debugpy's adapter reports it as text
    # ("Can't listen for client connections: [Errno 98] Address already in use", debugpy/server/api.py).
    import errno
    return getattr(e, "errno", None) == errno.EADDRINUSE or ("[Errno %d]" % errno.EADDRINUSE) in str(e)


def _wand_describe():
    """Where the target's code lives, for the editor's pathMappings."""
    import os
    import sys

    main = sys.modules.get("__main__")
    # The standard library and installed packages are not the user's code (sys.prefix is no
    # guide: it is /usr for Debian's Python, where applications may live too).
    stdlib = os.path.join(os.path.dirname(os.__file__), "")
    user_files = []
    for name, module in list(sys.modules.items()):
        if name in ("sitecustomize", "usercustomize", "_virtualenv"):
            continue  # installed by the distribution or the virtualenv, e.g. /etc/python3.X
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            continue
        # Paths as imported, not realpath'd: this runs in the attach's critical path, and a
        # realpath per module costs a few syscalls each for hundreds of modules.
        if path.startswith(stdlib) or "-packages" + os.sep in path or not os.path.isabs(path):
            continue
        user_files.append(path)
    user_root = None
    if user_files:
        user_root = os.path.realpath(os.path.commonpath(user_files))
        if user_root.endswith(".py"):
            user_root = os.path.dirname(user_root)
    main_file = getattr(main, "__file__", None)
    return {
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "main_file": os.path.realpath(main_file) if isinstance(main_file, str) else None,
        "argv": list(sys.argv),
        "user_root": user_root,
        "python": sys.version.split()[0],
        "executable": sys.executable,
    }


def _wand_listen_in_process(debugpy, host, port):
    """debugpy.listen() with pydevd accepting the editor itself (debugpy's in-process adapter): the
    listening socket is pydevd's own (pydevd.PyDB._WaitForConnectionThread). Returns (host, port) once it
    accepts connections, or None when this debugpy has no in_process_debug_adapter."""
    import socket
    import time

    # pydevd binds in its own thread, and a failed bind there leaves listen() waiting for ever: a port
    # that cannot be bound fails here instead, the way pydevd binds it (SO_REUSEADDR, pydevd_comm.create_server_socket).
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    finally:
        probe.close()
    try:
        debugpy.listen((host, port), in_process_debug_adapter=True)
    except TypeError as e:
        if "in_process_debug_adapter" not in str(e):
            raise
        return None
    import pydevd

    py_db = pydevd.get_global_debugger()
    # set once bound, before its accept loop calls listen(): wand reports ready only once it accepts.
    if not py_db._server_socket_ready_event.wait(30):
        raise RuntimeError("pydevd did not bind %s:%d within 30 s" % (host, port))
    server = py_db._waiting_for_connection_thread._server_socket
    # pydevd writes each DAP message in two send() calls, header then body (pydevd_comm.NetCommand.send):
    # with Nagle's algorithm the body waits for the peer's delayed ACK of the header, 40 ms on Linux, so
    # every response took 40-45 ms. The connections pydevd accepts inherit TCP_NODELAY from its listener.
    server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    deadline = time.monotonic() + 30
    while not server.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        if time.monotonic() > deadline:
            raise RuntimeError("pydevd did not listen on %s:%d within 30 s" % (host, port))
        time.sleep(0.001)
    return py_db._server_socket_name[:2]


def _wand_close_listener(py_db):
    """Stops pydevd's in-process listener for good: closing its socket (which stoptrace does) does not wake
    a thread blocked in accept(), which would keep the port listening; shutdown() does. The thread is told
    to end first: its loop (PyDB._WaitForConnectionThread.run) would otherwise listen() again on the socket."""
    import socket

    thread = getattr(py_db, "_waiting_for_connection_thread", None)
    server = getattr(thread, "_server_socket", None)
    if server is not None:
        thread._kill_received = True
        try:
            server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _wand_trace_main_thread(debugpy):
    """Before 3.12 pydevd traces with sys.settrace, which acts on the calling thread only: listen()
    runs in wand's thread, and pydevd reaches the other threads (the main one, where the app runs)
    through its attach.so (pydevd_tracing.set_trace_to_threads), which needs libstdc++ and fails
    quietly without it (a slim image): breakpoints would then never hit. So the main thread enables
    pydevd's tracing itself (PyDB.enable_tracing, pydevd's call for the current thread) at its next
    safe point, queued with Py_AddPendingCall, as wand queued this bootstrap. Harmless when attach.so
    did it already; 3.12+ uses sys.monitoring, which covers every thread."""
    import sys

    if sys.version_info >= (3, 12):
        return

    def enable(_):
        try:
            sys.modules["pydevd"].get_global_debugger().enable_tracing()
        except BaseException:
            pass
        return 0

    try:
        import ctypes

        # Kept until --stop: the callback must outlive the queued call, which runs later.
        debugpy._wand_trace_main = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)(enable)
        ctypes.pythonapi.Py_AddPendingCall(debugpy._wand_trace_main, None)
    except BaseException:
        pass  # no ctypes: only attach.so traces the main thread


class _wand_typing_extensions(object):
    """Lends typing_extensions.TypeGuard while debugpy is imported, on a Python without
    typing.TypeGuard (before 3.10) whose loaded typing_extensions (if any) has none either.

    pydevd's vendored bytecode (debugpy 1.8.x, _pydevd_frame_eval/vendored/bytecode/instr.py) does
    `from typing_extensions import TypeGuard` when typing has none, for one annotation
    (`_check_arg_int(...) -> TypeGuard[int]`), and is imported with pydevd (pydevd_comm imports
    pydevd_bytecode_utils). Bullseye's 3.9 has no typing_extensions, or 3.7.4.3 from
    python3-typing-extensions, which predates TypeGuard (typing_extensions 3.10.0.0). The module
    is put in sys.modules for the import only and taken out again: nothing is written to the
    target's disk, and the app's own `import typing_extensions` finds what it found before."""

    def __enter__(self):
        import sys
        import typing

        self.previous = sys.modules.get("typing_extensions")
        self.shim = None
        if hasattr(typing, "TypeGuard") or hasattr(self.previous, "TypeGuard"):
            return self

        # As typing defines it in 3.10 (Lib/typing.py, TypeGuard); _SpecialForm wraps its getitem from 3.9 on.
        @typing._SpecialForm
        def TypeGuard(form, parameters):
            return typing._GenericAlias(form, (typing._type_check(parameters, "TypeGuard accepts only a single type."),))

        self.shim = type(sys)("typing_extensions")
        self.shim.TypeGuard = TypeGuard
        sys.modules["typing_extensions"] = self.shim
        return self

    def __exit__(self, *exc):
        import sys

        if self.shim is not None and sys.modules.get("typing_extensions") is self.shim:
            if self.previous is None:
                del sys.modules["typing_extensions"]
            else:
                sys.modules["typing_extensions"] = self.previous


def _wand_adapter_python():
    """The interpreter for debugpy's adapter when sys.executable is not one. debugpy.listen() starts
    the adapter as `sys.executable -m debugpy.adapter` (debugpy/server/api.py, _config["python"]);
    in a program that embeds Python (uWSGI: sys.executable is uwsgi-core) that runs the program, and
    listen() times out waiting for an adapter that never starts. None: sys.executable will do."""
    import os
    import sys

    if os.path.basename(sys.executable or "").startswith("python"):
        return None
    for name in ("python%d.%d" % sys.version_info[:2], "python%d" % sys.version_info[0]):
        candidate = os.path.join(sys.base_exec_prefix, "bin", name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _wand_gunicorn_worker():
    """This process's gunicorn worker object, when it is one. Found on the main thread's stack, where
    this script runs (Worker.run and the worker's loop have it as `self`); a gunicorn master holds
    Worker objects too (Arbiter.WORKERS), but their pid is another process's (Arbiter.spawn_worker)."""
    import os
    import sys

    base = sys.modules.get("gunicorn.workers.base")
    if base is None:
        return None
    workers = os.path.join(os.path.dirname(base.__file__), "")
    gunicorn = os.path.dirname(os.path.dirname(workers))
    frame = sys._getframe()
    while frame is not None:
        code = frame.f_code
        # f_locals only of gunicorn's worker frames: before 3.13 it copies every local of the frame.
        candidate = frame.f_locals.get("self") if code.co_filename.startswith(workers) else None
        if isinstance(candidate, base.Worker) and candidate.pid == os.getpid() and getattr(candidate, "tmp", None) is not None:
            return candidate
        if code.co_name == "spawn_worker" and code.co_filename.startswith(gunicorn):
            # A worker held right after its fork (fork_hold.py): still in the master's Arbiter.spawn_worker,
            # which sets worker.pid only once fork() returned; the arbiter (self) is the master's, another PID.
            candidate, arbiter = frame.f_locals.get("worker"), frame.f_locals.get("self")
            if isinstance(candidate, base.Worker) and getattr(arbiter, "pid", None) != os.getpid() and getattr(candidate, "tmp", None) is not None:
                return candidate
        frame = frame.f_back
    return None


def _wand_start_heartbeat(worker):
    """Pause-safe gunicorn workers. The arbiter kills a worker whose heartbeat file has not been touched
    for --timeout seconds (Arbiter.murder_workers: time.monotonic() - worker.tmp.last_update() >
    timeout); the worker's own loop touches it (WorkerTmp.notify), and cannot while it is stopped at a
    breakpoint. This thread touches it for the worker while, and only while, one of its threads is
    suspended by pydevd, so a worker that hangs on its own is still killed. pydevd neither traces nor
    suspends it: it carries the marks of pydevd's own threads (pydevd_daemon_thread.mark_as_pydevd_daemon_thread)."""
    import sys
    import threading

    suspended = sys.modules["_pydevd_bundle.pydevd_constants"].STATE_SUSPEND
    # The worker notifies once per loop, every worker.timeout (the arbiter's timeout / 2) at most.
    interval = min(1.0, max(0.1, (worker.timeout or 2.0) / 2.0))
    stopping = threading.Event()

    def beat():
        while not stopping.wait(interval):
            try:
                if any(getattr(getattr(t, "additional_info", None), "pydev_state", None) == suspended for t in threading.enumerate()):
                    worker.tmp.notify()
            except Exception:
                pass  # the worker is exiting (its tmp file closed): nothing to keep alive

    thread = threading.Thread(target=beat, name="wand-gunicorn-heartbeat", daemon=True)
    thread.pydev_do_not_trace = True
    thread.is_pydev_daemon_thread = True
    thread.start()
    return thread, stopping


# The modules whose functions pydevd replaces: thread start (pydev_monkey.patch_thread_modules),
# process spawn (pydev_monkey.patch_new_process_functions), threading.enumerate's code
# (pydevd_daemon_thread), sys.breakpointhook (force_pydevd), builtins.execfile and runfile.
_WAND_PATCHED_MODULES = ("builtins", "sys", "os", "posix", "_thread", "threading", "signal", "subprocess", "_posixsubprocess")


def _wand_state(patched_modules=_WAND_PATCHED_MODULES):
    """os.environ, sys.path and the functions (with their code) of the patched modules loaded now."""
    import os
    import sys

    functions = {}
    for name in patched_modules:
        module = sys.modules.get(name)
        for attr, value in list(getattr(module, "__dict__", {}).items()):
            if callable(value) and not isinstance(value, type):
                functions[(name, attr)] = (value, getattr(value, "__code__", None))
    modules = [name for name in patched_modules if name in sys.modules]
    return {"environ": dict(os.environ), "sys.path": list(sys.path), "functions": functions, "modules": modules}


def _wand_changes(before, state=_wand_state):
    """What changed since `before`, as (before, now) pairs; a module imported since (by debugpy) is
    debugpy's, and may stay as it is."""
    now = state()
    environ = {}
    for name in set(before["environ"]) | set(now["environ"]):
        if now["environ"].get(name) != before["environ"].get(name):
            environ[name] = (before["environ"].get(name), now["environ"].get(name))
    functions = {}
    for key in set(before["functions"]) | set(now["functions"]):
        was, is_ = before["functions"].get(key), now["functions"].get(key)
        # by identity: an object's own __eq__ is the app's code
        if key[0] in before["modules"] and (was is None or is_ is None or was[0] is not is_[0] or was[1] is not is_[1]):
            functions[key] = (was, is_)
    return {"environ": environ, "sys.path": [p for p in now["sys.path"] if p not in before["sys.path"]], "functions": functions}


def _wand_undo(changes):
    """Puts back what the attach changed. os.environ: only where the app has not set a value since."""
    import os
    import sys

    if not changes:
        return
    for name, (before, after) in changes["environ"].items():
        if os.environ.get(name) != after:
            continue  # the app set it itself since: its value now
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before
    for path in changes["sys.path"]:
        while path in sys.path:
            sys.path.remove(path)
    for (name, attr), (before, _) in changes.get("functions", {}).items():
        module = sys.modules.get(name)
        if module is None:
            continue
        if before is None:
            module.__dict__.pop(attr, None)  # pydevd's addition (_original_start_new_thread, execfile)
            continue
        function, code = before
        setattr(module, attr, function)
        if code is not None and function.__code__ is not code:
            function.__code__ = code  # patched in place (threading.enumerate, active_count)
    # pydevd patches threading.enumerate once per process (a module flag): a later attach must again.
    daemon_thread = sys.modules.get("_pydevd_bundle.pydevd_daemon_thread")
    if daemon_thread is not None:
        daemon_thread._patched_threading_to_hide_pydevd_threads = False


_wand_run(_wand_debugpy, _wand_may_hold_while_importing)
del _wand_debugpy, _wand_release_start_hold, _wand_hold_until_configured, _wand_may_hold_while_importing, _wand_import_in_the_way, _wand_describe, _wand_stop, _wand_typing_extensions, _wand_listen_in_process, _wand_close_listener, _wand_trace_main_thread, _wand_adapter_python, _wand_stop_adapter, _wand_forget_code_info, _wand_undo_process_patches, _wand_undo, _wand_gunicorn_worker, _wand_start_heartbeat
del _wand_state, _wand_changes, _WAND_PATCHED_MODULES
