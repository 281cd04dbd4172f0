using Wand.Stacks;

namespace Wand.Errors;

/// <summary>
/// Thrown when the target's thread did not reach a safe point (bytecode) in time; the request has been
/// withdrawn. <see cref="Stack"/> is that thread's Python stack read from memory, when it could be read;
/// <see cref="Uwsgi"/>: the target is a uWSGI process, which runs Python only while a worker handles a
/// request. The CLI words the hint with its own commands and options.
/// </summary>
public sealed class SafePointTimeoutException(int pid, int tid, TimeSpan timeout, string? blockedIn, IReadOnlyList<StackFrame>? stack = null, bool uwsgi = false)
    : WandException(ExitCodes.SafePointTimeout,
        $"the main thread of PID {pid} did not run Python code within {timeout.TotalSeconds:0.#} s" +
        (blockedIn is null ? "" : $" (it is blocked in the kernel: {blockedIn})") +
        "; the request was withdrawn and will not run later",
        uwsgi ? "uWSGI runs Python only while a worker handles a request: send requests while wand waits, to a worker (not the master)"
            : "the thread is blocked in C code (sleep, I/O, lock); retry with a longer timeout once it is idle-looping")
{
    public int Pid { get; } = pid;

    public int Tid { get; } = tid;

    public TimeSpan Timeout { get; } = timeout;

    public IReadOnlyList<StackFrame>? Stack { get; } = stack;

    public bool Uwsgi { get; } = uwsgi;
}
