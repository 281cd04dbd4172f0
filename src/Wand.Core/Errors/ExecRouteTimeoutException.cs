using Wand.Stacks;

namespace Wand.Errors;

/// <summary>
/// Thrown when a target reached through a CLI's exec (podman, docker, kubectl) did not run wand's code
/// in time; the request was withdrawn. <paramref name="stack"/>: the main thread's Python frames read
/// from memory through the same exec (innermost last), or null when they could not be read. The CLI
/// says how to wait longer.
/// </summary>
public sealed class ExecRouteTimeoutException(int pid, string place, IReadOnlyList<StackFrame>? stack = null)
    : InjectionFailedException(
        $"PID {pid} in {place} did not run wand's code in time (its main thread may be blocked in C code); the request was withdrawn",
        "retry with a longer timeout once the application is idle-looping")
{
    public int Pid { get; } = pid;

    public IReadOnlyList<StackFrame>? Stack { get; } = stack;
}
