namespace Wand.Errors;

/// <summary>
/// The target took wand's payload at a safe point (it is running) but wrote no answer within the time
/// it was given. Whatever the route, so a caller can say what that means for its payload (<c>wand exec</c>: code
/// stuck in C).
/// </summary>
public sealed class NoAnswerException(int pid, TimeSpan timeout)
    : WandException(ExitCodes.InjectionFailed,
        $"PID {pid} accepted wand's code but gave no answer within {timeout.TotalSeconds:0.#} s",
        "look at the target's stderr for an error from the injected script")
{
    public int Pid { get; } = pid;
}
