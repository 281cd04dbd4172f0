namespace Wand.Errors;

/// <summary>
/// Thrown when a target reached through a CLI's exec (podman, docker, kubectl) did not run wand's code
/// in time; the request was withdrawn. The CLI says how to wait longer.
/// </summary>
public sealed class ExecRouteTimeoutException(int pid, string place)
    : InjectionFailedException(
        $"PID {pid} in {place} did not run wand's code in time (its main thread may be blocked in C code); the request was withdrawn",
        "retry with a longer timeout once the application is idle-looping")
{
    public int Pid { get; } = pid;
}
