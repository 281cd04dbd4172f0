namespace Wand.Errors;

/// <summary>Thrown when the target's thread did not reach a safe point (bytecode) in time; the request has been withdrawn.</summary>
public sealed class SafePointTimeoutException(int pid, int tid, TimeSpan timeout, string? blockedIn, string? hint = null)
    : WandException(ExitCodes.SafePointTimeout,
        $"the main thread of PID {pid} did not run Python code within {timeout.TotalSeconds:0.#} s" +
        (blockedIn is null ? "" : $" (it is blocked in the kernel: {blockedIn})") +
        "; the request was withdrawn and will not run later",
        hint ?? $"the thread is blocked in C code (sleep, I/O, lock); look at /proc/{pid}/task/{tid}/stack or run `py-spy dump --pid {pid}`, then retry with a longer --timeout once it is idle-looping")
{
    public int Pid { get; } = pid;
}
