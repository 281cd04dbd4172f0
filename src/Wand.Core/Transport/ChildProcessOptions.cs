namespace Wand.Transport;

/// <summary>How <see cref="ProcessRunner.Start"/> starts a long-lived child.</summary>
public sealed record ChildProcessOptions
{
    /// <summary>The child uses wand's own stdin, stdout and stderr (a program the user runs, whose output is theirs).</summary>
    public bool InheritStdio { get; init; }

    /// <summary>Whether the child's stdin is a pipe (<see cref="ChildProcess.StandardInput"/>); else it inherits wand's.</summary>
    public bool RedirectInput { get; init; } = true;

    /// <summary>Each line the child writes to stdout; null: the caller reads <see cref="ChildProcess.StandardOutput"/>.</summary>
    public Action<string>? OnOutputLine { get; init; }

    /// <summary>Each line the child writes to stderr; null: the caller reads <see cref="ChildProcess.StandardError"/>.</summary>
    public Action<string>? OnErrorLine { get; init; }

    /// <summary>Variables set for the child (a null value removes one it would inherit).</summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }

    /// <summary>Read every line and keep none: a child must never block on a full pipe nobody reads.</summary>
    public static readonly Action<string> Drain = static _ => { };
}
