# wand payload prelude: wand puts this, after one line that sets _WAND_DIR (the private folder wand
# made inside the target's root), in front of every payload. Requests and results travel as JSON files
# in that folder; the result is written under a temporary name and renamed, so wand never reads half.


def _wand_request():
    import json
    import os

    try:
        with open(os.path.join(_WAND_DIR, "request.json"), "rb") as f:
            return json.load(f)
    except OSError:
        return None  # the request was withdrawn and its folder removed: do nothing


def _wand_result(result):
    import json
    import os

    try:
        temporary = os.path.join(_WAND_DIR, "result.json.tmp")
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(result, f)
        os.replace(temporary, os.path.join(_WAND_DIR, "result.json"))
    except OSError:
        pass  # wand gave up and removed the folder


def _wand_importing():
    """The module the target is importing right now, if any (importlib marks its spec while the module
    body runs). A script can run at any safe point, even halfway through the application's imports at
    start-up; importing anything then could meet half-initialised modules, ours and the application's."""
    import sys  # always loaded: importing it changes nothing

    for name, module in list(sys.modules.items()):
        if getattr(getattr(module, "__spec__", None), "_initializing", False):
            return name
    return None


def _wand_busy(importing):
    """Answers "busy importing" without importing anything (json and os may be the ones half-imported); wand retries."""
    try:
        with open(_WAND_DIR + "/result.json.tmp", "w") as f:
            f.write('{"ok": false, "error": "busy-importing", "module": "%s"}' % importing)
        __import__("posix").rename(_WAND_DIR + "/result.json.tmp", _WAND_DIR + "/result.json")
    except OSError:
        pass


def _wand_asks(question):
    """question() when there is one, False when it raises (nothing escapes into the application)."""
    try:
        return question is not None and bool(question())
    except BaseException:
        return False


def _wand_run(payload, may_run_while_importing=None):
    """Runs a payload so that nothing escapes into the application and wand always gets an answer.
    may_run_while_importing: the payload's own judgement, asked (without arguments) when an import is
    under way, whether it may run all the same."""
    importing = _wand_importing()
    if importing is not None and not _wand_asks(may_run_while_importing):
        _wand_busy(importing)
        return
    try:
        # Tells a waiting agent.py that the safe point was reached: from now on it waits for the
        # answer, not for the safe point (wand on this machine sees the request taken from memory).
        open(_WAND_DIR + "/started", "w").close()
    except OSError:
        pass
    try:
        payload()
    except BaseException:
        import traceback

        _wand_result({"ok": False, "error": "payload-failed", "detail": traceback.format_exc()})
