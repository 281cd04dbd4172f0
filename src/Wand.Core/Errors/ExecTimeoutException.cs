using Wand.Injection;

namespace Wand.Errors;

/// <summary>
/// The code run by <c>wand exec</c> ran past its timeout (exec_capture.py's watchdog then raises an
/// asynchronous exception in the thread that runs it). <paramref name="partial"/>: what it printed
/// before it was interrupted, with where it was; null when it did not stop in time because it is
/// blocked in C code, where CPython raises the exception only once the call returns to Python (or it
/// catches every interruption: the watchdog sends one again every half second). The CLI words the
/// message with its option's name.
/// </summary>
public sealed class ExecTimeoutException(int pid, TimeSpan timeout, ExecResult? partial)
    : WandException(ExitCodes.ExecTimeout,
        partial is not null
            ? $"the code ran past its {timeout.TotalSeconds:0.#} s timeout and was interrupted in PID {pid}; the application goes on"
            : $"the code ran past its {timeout.TotalSeconds:0.#} s timeout in PID {pid} and was told to stop, but has not stopped: {NotStoppedWhy}",
        partial is not null ? "give it a longer timeout if it needs more time" : "read its threads' stacks to see where it waits; the thread that runs it is busy until then")
{
    /// <summary>Why code told to stop has not stopped.</summary>
    public const string NotStoppedWhy = "it is blocked in C code (sleep, I/O, a lock, an extension), where it can only be interrupted when it returns to Python, and stops then (or it catches every interruption with `except BaseException`)";

    public int Pid { get; } = pid;

    public TimeSpan Timeout { get; } = timeout;

    public ExecResult? Partial { get; } = partial;
}
