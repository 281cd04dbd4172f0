using Wand.Stacks;

namespace Wand.Errors;

/// <summary>
/// Thrown when the target's thread did not reach a safe point (bytecode) in time; the request has been
/// withdrawn. <paramref name="hint"/> replaces the generic advice where the route knows better (uWSGI). <paramref name="stack"/> is that thread's Python stack read from memory, when it could be read.
/// </summary>
public sealed class SafePointTimeoutException(int pid, int tid, TimeSpan timeout, string? blockedIn, IReadOnlyList<StackFrame>? stack = null, string? hint = null)
    : WandException(ExitCodes.SafePointTimeout,
        $"the main thread of PID {pid} did not run Python code within {timeout.TotalSeconds:0.#} s" +
        (blockedIn is null ? "" : $" (it is blocked in the kernel: {blockedIn})") +
        "; the request was withdrawn and will not run later",
        hint ?? HintFor(pid, tid, stack))
{
    public int Pid { get; } = pid;

    private static string HintFor(int pid, int tid, IReadOnlyList<StackFrame>? stack) =>
        stack is { Count: > 0 }
            ? "the thread is blocked in C code called from here (read from memory, innermost last):\n" +
              string.Concat(stack.Select(f => $"      {f.File}:{f.Line?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} {f.Function}\n")) +
              $"  run `wand stacks --pid {pid}` for every thread; retry with a longer --timeout once it is idle-looping"
            : $"the thread is blocked in C code (sleep, I/O, lock); run `wand stacks --pid {pid}` (or look at /proc/{pid}/task/{tid}/stack), then retry with a longer --timeout once it is idle-looping";
}
