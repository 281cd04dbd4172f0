# wand spawn hold (after prelude.py). Runs in a reloader that starts each worker as a new program
# (werkzeug's restart_with_reloader: subprocess.call of the same command line, fork and exec, so no
# fork handler runs in the child), while an editor is connected. The new worker serves the request
# queued in the inherited socket 0.1-0.2 s after it appears, sooner than an attach from outside lands.
# The reloader waits in os.waitpid for the whole life of a worker, so wand leaves this request pending
# there: CPython runs it the moment the worker exits, before the reloader copies os.environ for the
# next one (seen from subprocess.call's _try_wait). It makes that one next start carry wand's
# usercustomize.py (lent, on the child's PYTHONPATH), which holds the worker until wand's attach ran.
#
# Request: {"folder": str (the lent folder holding usercustomize.py, in the target), "seconds": float}
#
# Nothing stays: subprocess.call is wrapped for one call and put back by it; the child takes its
# environment entries and the folder out again at once (usercustomize.py). A withdrawn request (the
# session ended while the worker lived) never runs.
def _wand_spawn_hold():
    import os
    import subprocess

    request = _wand_request()
    if request is None:
        return
    call = subprocess.call
    original = getattr(call, "_wand_original", call)  # one wrapper at most: a second request updates it
    folder, seconds = request["folder"], float(request["seconds"])

    def hold_next(*args, **kwargs):
        if subprocess.call is hold_next:
            subprocess.call = original
        try:
            env = kwargs.get("env")
            env = dict(os.environ if env is None else env)
            before = env.get("PYTHONPATH")
            if before is not None:
                env["WAND_SPAWN_PYTHONPATH"] = before
            env["PYTHONPATH"] = folder if not before else folder + os.pathsep + before
            env["WAND_SPAWN_HOLD"] = repr(seconds)
            kwargs["env"] = env
        except Exception:
            pass  # the worker starts as it would have, unheld
        return original(*args, **kwargs)

    hold_next._wand_original = original
    subprocess.call = hold_next
    _wand_result({"ok": True})


_wand_run(_wand_spawn_hold)
del _wand_spawn_hold
