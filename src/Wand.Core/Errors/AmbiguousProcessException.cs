namespace Wand.Errors;

/// <summary>Thrown when a process must be taken without asking and several could be meant; the CLI says how to name one.</summary>
public sealed class AmbiguousProcessException(IReadOnlyList<string> candidates)
    : WandException(ExitCodes.Usage, $"several Python processes could be meant: {string.Join("; ", candidates)}", "name one by its PID")
{
    /// <summary>One line per candidate ("PID 10 main, Python 3.14, ...").</summary>
    public IReadOnlyList<string> Candidates { get; } = candidates;
}
