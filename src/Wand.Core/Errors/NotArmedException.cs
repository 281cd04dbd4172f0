namespace Wand.Errors;

/// <summary>
/// Thrown when a process on a compute node can be attached only if it was prepared (started under rdg's
/// launcher in lite mode) and it was not; <see cref="Reason"/> says why it cannot be attached as it is.
/// The CLI names the command that prepares it.
/// </summary>
public sealed class NotArmedException(int pid, string? reason)
    : WandException(ExitCodes.UnsupportedPython, $"PID {pid} was not started armed (rdg's launcher, lite mode) and cannot be attached without preparation: {reason}",
        "restart it under rdg's launcher in lite mode (any Python 3.8+), or run it with Python 3.9+")
{
    public int Pid { get; } = pid;

    public string? Reason { get; } = reason;
}
