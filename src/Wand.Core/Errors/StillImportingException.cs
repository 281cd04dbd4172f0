namespace Wand.Errors;

/// <summary>Thrown when the target was still importing (starting up) for the whole wait for a safe point; the CLI says how to wait longer.</summary>
public sealed class StillImportingException(int pid, string? module, TimeSpan timeout)
    : InjectionFailedException($"PID {pid} is still importing {module} (starting up) after {timeout.TotalSeconds:0.#} s",
        "try again once the application has started, or give it a longer timeout")
{
    public int Pid { get; } = pid;

    public TimeSpan Timeout { get; } = timeout;
}
