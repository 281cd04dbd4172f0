namespace Wand.Cli;

/// <summary>
/// Everything the commands say to the user and ask of them goes through here, so tests can record it.
/// Human text goes to stderr; stdout carries only results (tables, JSON, the exec output).
/// </summary>
public interface IUserInterface : Wand.Progress.IProgressReporter
{
    /// <summary>Plain output: not a terminal, or DEBUGWAND_SIMPLE_UI=1.</summary>
    bool Simple { get; }

    TextWriter Out { get; }

    void Info(string message);

    void Error(string message, string? hint);

    /// <summary>True when the user can be asked questions (stdin and stderr are a terminal).</summary>
    bool CanPrompt { get; }

    /// <summary>Asks the user to pick one of <paramref name="choices"/>; the first is the default.</summary>
    T Choose<T>(string title, IReadOnlyList<T> choices, Func<T, string> describe) where T : notnull;

    /// <summary>Asks a yes/no question.</summary>
    bool Confirm(string question, bool defaultAnswer);

    /// <summary>Prints rows as an aligned table on stdout.</summary>
    void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows);
}
