# wand fork hold (after prelude.py). Runs in a process that forks the workers a session follows (a
# gunicorn master) while an editor is connected: each worker it forks from now on waits, right after the
# fork, until wand's attach (debugpy_bootstrap.py) has run in it, so that the first request it serves
# stops at the editor's breakpoints. A forked gunicorn worker imports a small app and serves about 0.1 s
# after it appears, sooner than any attach from outside can land (bench/README.md, reload).
#
# Request: {"action": "arm" | "disarm", "seconds": float}
# ("seconds": how long a new child waits at most for wand's attach to start in it; a wand that died or
# an editor that left never keeps a worker waiting longer.)
#
# os.register_at_fork cannot be unregistered: the hook is registered once per arming and switched off
# by "disarm" (the session's end, the editor leaving), after which it does nothing. The one thing left
# in the master is then that inert function in the interpreter's fork-handler list; the switch
# (os._wand_fork_hold) is taken out. A child deletes its inherited copy of the switch at once.
def _wand_fork_hold():
    import builtins
    import os
    import types

    request = _wand_request()
    if request is None:
        return
    state = getattr(os, "_wand_fork_hold", None)
    if request["action"] == "disarm":
        if state is not None:
            state["on"] = False
            del os._wand_fork_hold
        _wand_result({"ok": True, "was_armed": state is not None})
        return
    if state is None:
        state = {"on": False, "seconds": 0.0, "master": os.getpid(), "armed": 0}
        hook = _wand_fork_child_hook(state)
        # Its own globals, not this script's: the hook lives as long as the process, and must keep
        # nothing of wand's (the request folder, the prelude) alive in it.
        hook = types.FunctionType(hook.__code__, {"__builtins__": builtins}, "wand_fork_hold", None, hook.__closure__)
        os.register_at_fork(after_in_child=hook)
        os._wand_fork_hold = state
    state["seconds"] = float(request["seconds"])
    state["on"] = True
    _wand_result({"ok": True})


def _wand_fork_child_hook(state):
    """The after_in_child fork handler: CPython calls it in the new child, in the thread that called
    os.fork() (Modules/posixmodule.c, PyOS_AfterFork_Child then the registered handlers, in order, so
    threading's own after-fork clean-up has run). It waits in a loop of short sleeps, each a safe point
    where PEP 768 and Py_AddPendingCall run wand's bootstrap (no import in progress: gunicorn's
    Arbiter.spawn_worker forks between statements), until the bootstrap says it ran in this process
    (it sets state["armed"] to its PID), for state["seconds"] at most. In a gunicorn worker at most
    its heartbeat timeout as well (the worker object is spawn_worker's local `worker`; a worker that
    has not notified yet is not killed, but older gunicorns count from the fork)."""

    def hold():
        import os
        import sys
        import time

        try:
            if not state["on"] or os.getppid() != state["master"]:
                return  # switched off, or a grandchild (a worker's own fork): only the master's children wait
            seconds = state["seconds"]
            frame = sys._getframe(1)
            while frame is not None:
                if frame.f_code.co_name == "spawn_worker" and "gunicorn" in frame.f_code.co_filename:
                    timeout = getattr(frame.f_locals.get("worker"), "timeout", None)
                    if isinstance(timeout, (int, float)) and timeout > 0:
                        seconds = min(seconds, timeout)
                    break
                frame = frame.f_back
            frame = None
            deadline = time.monotonic() + seconds
            while state["armed"] != os.getpid() and time.monotonic() < deadline:
                time.sleep(0.005)
        except BaseException:
            pass  # a fork handler's exception would only be printed; the worker goes on either way
        finally:
            if getattr(os, "_wand_fork_hold", None) is state:
                del os._wand_fork_hold  # the master's switch, inherited: this process is not the master

    return hold


_wand_run(_wand_fork_hold)
del _wand_fork_hold, _wand_fork_child_hook
