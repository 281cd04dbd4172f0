namespace Wand.Stacks;

/// <summary>Every thread of a Python process, read from its memory and /proc without running code in it.</summary>
/// <param name="Threads">Python threads first (in the interpreter's order), then the OS threads without a Python thread state.</param>
public sealed record ProcessStacks(int Pid, string PythonVersion, IReadOnlyList<ThreadStack> Threads)
{
    /// <summary>How long every thread was stopped for the read (<c>--consistent</c>); null when nothing was stopped.</summary>
    public TimeSpan? StoppedFor { get; init; }
}
