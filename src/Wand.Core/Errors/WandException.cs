namespace Wand.Errors;

/// <summary>
/// A failure the user can act on. The CLI prints <see cref="Exception.Message"/> as one line (plus
/// <see cref="Hint"/> when present) without a stack trace and exits with <see cref="ExitCode"/>.
/// </summary>
public class WandException(int exitCode, string message, string? hint = null, Exception? inner = null)
    : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>What to do about it, when there is one thing to do.</summary>
    public string? Hint { get; } = hint;
}
