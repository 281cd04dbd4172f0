using System.Globalization;
using Wand.Errors;
using Wand.Injection.Debugpy;
using Wand.Stacks;

namespace Wand.Cli;

/// <summary>
/// The library's typed errors in the words of wand's and rdg's command lines: the library knows the
/// facts (a timeout, a PID, the runtimes that have a container), the CLI knows its options and
/// commands and says which one to use. Errors not named here are printed as the library words them.
/// </summary>
public static class ErrorWording
{
    /// <summary>The one line and the hint the CLI prints for <paramref name="e"/>.</summary>
    public static (string Message, string? Hint) Of(WandException e) => e switch
    {
        ExecTimeoutException t => (t.Partial is not null
                ? $"the code ran past its {Seconds(t.Timeout)} s --timeout and was interrupted in PID {t.Pid}; the application goes on"
                : $"the code ran past its {Seconds(t.Timeout)} s --timeout in PID {t.Pid} and was told to stop, but has not stopped: {ExecTimeoutException.NotStoppedWhy}",
            t.Partial is not null ? "give it a longer --timeout if it needs more time" : $"see where it waits with `wand stacks --pid {t.Pid}`; the thread that runs it is busy until then"),
        SafePointTimeoutException s => (s.Message, SafePointHint(s)),
        StillImportingException => (e.Message, "try again once the application has started, or pass a longer --timeout"),
        ExecRouteTimeoutException r => (e.Message, r.Stack is { Count: > 0 } stack
            ? BlockedHere(stack) + "  retry with a longer --timeout once it is idle-looping"
            : "retry with a longer --timeout once the application is idle-looping"),
        AmbiguousProcessException => (e.Message, "pass --pid PID"),
        NoContainerRuntimeException => (e.Message, "install podman or docker, or pass --runtime"),
        AmbiguousContainerRuntimeException => (e.Message, "choose with --runtime podman or --runtime docker"),
        DebugpyListenFailedException => (e.Message, "choose another port with --port"),
        DebugpyMissingException => (e.Message, "install it where wand can find it: `python3 -m pip install --user debugpy`, or pass --debugpy /path/to/site-packages/debugpy"),
        NotArmedException n => ($"PID {n.Pid} was not started by `rdg debug --lite` and cannot be attached without preparation: {n.Reason}",
            "restart it under `rdg debug --lite python ...` (any Python 3.8+), or run it with Python 3.9+"),
        PodProcessNotFoundException p => (e.Message, $"list them: wand pods -n {p.Namespace} --pod {p.Pod} --with-pids"),
        StackReadException => (e.Message, "retry; if it keeps failing, report it with the output of `wand ps --pid PID -o json`"),
        _ => (e.Message, e.Remedy is { } remedy ? Hint(e.Hint, remedy) : e.Hint),
    };

    /// <summary>The library's hint (which names no option) followed by <paramref name="remedy"/> in the options' words.</summary>
    public static string Hint(string? hint, Remedy remedy) => remedy.Kind switch
    {
        // Alternatives to what the hint says, or the whole hint when there is none.
        RemedyKind.StartUnderLauncher or RemedyKind.NamePods or RemedyKind.RunOnLoginNode => hint is null ? Words(remedy) : $"{hint}, or {Words(remedy)}",
        RemedyKind.WriteLaunchConfigAgain => hint is null ? Words(remedy) : $"{hint} and {Words(remedy)}",
        _ => hint is null ? Words(remedy) : $"{hint}; {Words(remedy)}",
    };

    /// <summary><paramref name="remedy"/> in the words of wand's and rdg's options and commands.</summary>
    public static string Words(Remedy remedy) => remedy.Kind switch
    {
        RemedyKind.ListProcesses => "run `wand ps` to list the Python processes and whether each can be attached",
        RemedyKind.ReportWithProcessListing => "report this with the output of `wand ps --output json`",
        RemedyKind.StartUnderLauncher => "start it under `rdg debug python ...` (any Python 3.8+)",
        RemedyKind.RunCodeInstead => "`wand exec` works as it is",
        RemedyKind.NamePods => "name the pods with -l SELECTOR or --pod NAME",
        RemedyKind.NameContainer => remedy.Names is { Count: > 0 } names
            ? $"pass --pod-container {string.Join(" or --pod-container ", names)}"
            : "pass --pod-container NAME",
        RemedyKind.DebugOnlyThis => remedy.Pid is { } pid ? $"--one debugs PID {pid.ToString(CultureInfo.InvariantCulture)} alone" : "--one debugs it alone",
        RemedyKind.RunOnLoginNode => "run rdg on the cluster's login node",
        RemedyKind.WriteLaunchConfigAgain => "run rdg init again",
        RemedyKind.GiveProgramCommand => "usage: rdg debug [OPTIONS] python SCRIPT [ARGS...] | python -m MODULE [ARGS...] | python -c CODE [ARGS...]",
        _ => throw new ArgumentOutOfRangeException(nameof(remedy), remedy.Kind, "a remedy the CLI does not word"),
    };

    private static string SafePointHint(SafePointTimeoutException s)
    {
        // uWSGI's python plugin runs the first app in the main interpreter and every other one in a
        // sub-interpreter of its own unless --single-interpreter (plugins/python/pyloader.c,
        // init_uwsgi_app: Py_NewInterpreter for app ids above 0); pending calls run only in the main
        // interpreter (Python/ceval.c, _Py_ThreadCanHandlePendingCalls), and only while a worker handles
        // a request for an app there.
        if (s.Uwsgi)
            return "uWSGI runs Python only while a worker handles a request: send requests during --timeout, to a worker (not the master); " +
                "wand reaches only the main interpreter, which runs the first app (every app with --single-interpreter)";
        return s.Stack is { Count: > 0 } stack
            ? BlockedHere(stack) + $"  run `wand stacks --pid {s.Pid}` for every thread; retry with a longer --timeout once it is idle-looping"
            : $"the thread is blocked in C code (sleep, I/O, lock); run `wand stacks --pid {s.Pid}` (or look at /proc/{s.Pid}/task/{s.Tid}/stack), then retry with a longer --timeout once it is idle-looping";
    }

    /// <summary>The blocked thread's Python frames, innermost last, one per line.</summary>
    private static string BlockedHere(IReadOnlyList<StackFrame> stack) =>
        "the thread is blocked in C code called from here (read from memory, innermost last):\n" +
        string.Concat(stack.Select(f => $"      {f.File}:{f.Line?.ToString(CultureInfo.InvariantCulture) ?? "?"} {f.Function}\n"));

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
}
