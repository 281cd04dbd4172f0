# wand debugpy bootstrap, the --stop half (sent before debugpy_bootstrap.py, which calls and deletes
# these names): debugpy stops listening, its adapter (only the one this attach started) ends, and what
# the attach changed in the process is put back.


def _wand_stop(debugpy, endpoint):
    """--stop: debugpy stops listening and the process is put back as it was before the attach."""
    if endpoint is None:
        _wand_result({"ok": True, "was_listening": False})
        return
    heartbeat = getattr(debugpy, "_wand_heartbeat", None)
    if heartbeat is not None:
        heartbeat[1].set()
        heartbeat[0].join(5)
    stopped = _wand_stop_adapter(getattr(debugpy, "_wand_adapter_token", None))
    pre_stop = _wand_state()
    try:
        import pydevd

        _wand_close_listener(pydevd.get_global_debugger())
        pydevd.stoptrace()
        # settrace() keeps its first address here and a later listen() would reuse it: it was None before the attach.
        pydevd.SetupHolder.setup = None
    except Exception:
        pass
    _wand_forget_code_info()
    # stoptrace() restores what pydevd patched, but also sets names that were never there
    # (pydev_monkey.undo_patch_thread_modules: _thread._start_new_thread, threading.start_joinable_thread).
    added = dict((k, v) for k, v in _wand_changes(pre_stop)["functions"].items() if v[0] is None)
    _wand_undo({"environ": {}, "sys.path": [], "functions": added})
    _wand_undo_process_patches()
    _wand_undo(getattr(debugpy, "_wand_undo", None))
    try:
        import debugpy.server.api

        debugpy.server.api.listen.called = False  # allow a later `wand debug` to listen again
    except Exception:
        pass
    copy = getattr(debugpy, "_wand_copy", None)
    for attr in ("_wand_endpoint", "_wand_direct", "_wand_copy", "_wand_adapter_token", "_wand_undo", "_wand_heartbeat", "_wand_trace_main"):
        if hasattr(debugpy, attr):
            delattr(debugpy, attr)
    _wand_result({"ok": True, "was_listening": True, "port": endpoint[1], "adapter_pids": stopped, "debugpy_copy": copy})


def _wand_forget_code_info():
    """On 3.12+ pydevd (sys.monitoring) caches, per code object, what it found about breakpoints there,
    stamped with PyDB.mtime, its count of breakpoint changes (_pydevd_sys_monitoring._get_func_code_info).
    The cache is the module's and outlives the PyDB that stoptrace() disposes of, while the next listen()
    makes a PyDB whose count starts at 0 again: when it reaches the stamp of an entry made by this one
    ("no breakpoint in tick()"), that stale entry is taken as current and the editor's breakpoint there
    never stops. Emptied here, every code object is looked at afresh by the next attach."""
    import sys

    for name in ("_pydevd_sys_monitoring._pydevd_sys_monitoring_cython", "_pydevd_sys_monitoring._pydevd_sys_monitoring"):
        cache = getattr(sys.modules.get(name), "_code_to_func_code_info_cache", None)
        if isinstance(cache, dict):
            cache.clear()


def _wand_stop_adapter(token):
    """Ends the debugpy adapter that debugpy.listen() started for this process: it daemonized, so it
    is found by its command line, which holds this process's access token (no other adapter's)."""
    import os
    import signal

    stopped = []
    if not token:
        return stopped
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        if "--for-server" in argv and "--server-access-token" in argv:
            i = argv.index("--server-access-token")
            if i + 1 < len(argv) and argv[i + 1] == token:
                try:
                    os.kill(int(entry), signal.SIGTERM)
                    stopped.append(int(entry))
                except OSError:
                    pass
    return stopped


def _wand_undo_process_patches():
    """pydevd wraps the process-spawning functions to debug children too, keeping the originals as
    module.original_NAME (pydev_monkey.monkey_patch_module), and stoptrace() does not put them back:
    children (a new debugpy adapter among them) would try to reach the old session."""
    import sys

    for name in ("os", "_posixsubprocess", "subprocess", "_subprocess"):
        module = sys.modules.get(name)
        for attr in [a for a in getattr(module, "__dict__", {}) if a.startswith("original_")]:
            setattr(module, attr[len("original_"):], getattr(module, attr))
            delattr(module, attr)
