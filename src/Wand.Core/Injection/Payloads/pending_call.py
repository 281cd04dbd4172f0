# The bootstrap wand queues in a Python 3.9-3.13 process with Py_AddPendingCall(PyRun_SimpleString,
# page) (Injection/Ptrace, or agent_ptrace.py inside a container). The page holds
# `exec(<this, hex-encoded>, {"_WAND_DIR": ..., "_WAND_SCRIPT": ..., "_WAND_PAGE": ..., "_WAND_PAGE_SIZE": ...})`:
# it runs in a namespace of its own, so nothing is bound in __main__.
#
# Nothing may escape from here: PyRun_SimpleString would return -1, and a pending call that fails
# makes the interpreter raise SystemError in the application (Python/ceval.c, make_pending_calls);
# a SystemExit would even end the process (PyErr_Print exits on it).


def _wand_pending_call():
    import os

    script = os.path.join(_WAND_DIR, _WAND_SCRIPT)
    claimed = script + ".claimed"
    try:
        try:
            # The claim: wand withdraws a request by renaming run.py away; whichever rename comes
            # first wins, so a withdrawn request never runs, however late this pending call comes.
            os.rename(script, claimed)
            with open(claimed, "rb") as f:
                source = f.read()
        except OSError:
            return  # withdrawn (on the exec route its folder may go just after the claim)
        exec(compile(source, claimed, "exec"), {})
    except BaseException:
        try:
            import traceback

            traceback.print_exc()
        except BaseException:
            pass
    finally:
        _wand_unmap()


def _wand_unmap():
    # The page can go now, while its text is "running": PyRun_SimpleString parses the string to an
    # AST and compiles it before running the code, and reads it no more (Python/pythonrun.c,
    # PyRun_StringFlags in 3.9-3.12, _PyRun_StringFlagsWithName in 3.13); the pending-call machinery
    # never reads its argument. Without ctypes the page (one) stays mapped.
    try:
        import ctypes

        munmap = ctypes.CDLL(None).munmap
        munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
        munmap(_WAND_PAGE, _WAND_PAGE_SIZE)
    except BaseException:
        pass


_wand_pending_call()
