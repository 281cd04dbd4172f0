namespace Wand.Errors;

/// <summary>
/// A failure the user can act on. The CLI prints <see cref="Exception.Message"/> as one line (plus
/// <see cref="Hint"/> and <see cref="Remedy"/> in its own words, when present) without a stack trace and
/// exits with <see cref="ExitCode"/>.
/// </summary>
public class WandException(int exitCode, string message, string? hint = null, Exception? inner = null, Remedy? remedy = null)
    : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>What to do about it, in words that name no option or command of wand's or rdg's.</summary>
    public string? Hint { get; } = hint;

    /// <summary>The way out that is an option or command of the CLI (worded by it after <see cref="Hint"/>).</summary>
    public Remedy? Remedy { get; } = remedy;
}
