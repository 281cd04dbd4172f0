# wand's start-up hold for a worker that a reloader starts as a new program (spawn_hold.py put this
# file's folder on the worker's PYTHONPATH for this one start). site.py imports usercustomize at
# start-up when the user site is enabled (site.execusercustomize), before the app runs. It takes its
# own traces out at once (its environment entries, so the worker's own children do not inherit them,
# and its folder on sys.path; its sys.modules entry once the import is over) and makes the main
# thread's first threading.Thread.start outside an import wait until wand's attach (the bootstrap
# marks os._wand_fork_hold["armed"] with this PID) ran, for at most the given seconds. werkzeug's
# run_with_reloader starts serve_forever that way after the app's imports: the worker's imports go on
# unheld, and wand's bootstrap, which may already have held it during them, finds it there otherwise.
def _wand_usercustomize():
    import os
    import sys

    seconds = os.environ.pop("WAND_SPAWN_HOLD", None)
    if seconds is None:
        return  # not wand's start (this folder is on no other PYTHONPATH than the one it was lent for)
    folder = os.path.dirname(os.path.abspath(__file__))
    before = os.environ.pop("WAND_SPAWN_PYTHONPATH", None)
    if before is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = before
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != folder]
    import threading
    import time

    seconds = float(seconds)
    state = {"armed": 0}
    os._wand_fork_hold = state
    original = threading.Thread.start
    me = sys.modules.get(__name__)

    def importing():
        for module in list(sys.modules.values()):
            if getattr(getattr(module, "__spec__", None), "_initializing", False):
                return True
        return False

    def start(self):
        try:
            if threading.current_thread() is threading.main_thread() and not importing():
                threading.Thread.start = original
                if sys.modules.get(__name__) is me:
                    del sys.modules[__name__]
                deadline = time.monotonic() + seconds
                while state["armed"] != os.getpid() and time.monotonic() < deadline:
                    time.sleep(0.005)
                if getattr(os, "_wand_fork_hold", None) is state:
                    del os._wand_fork_hold
        except BaseException:
            pass  # the worker goes on unheld
        return original(self)

    threading.Thread.start = start


try:
    _wand_usercustomize()
except Exception:
    pass
del _wand_usercustomize
