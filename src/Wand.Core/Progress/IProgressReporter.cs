using Wand.Errors;

namespace Wand.Progress;

/// <summary>How library code reports what it is doing; it never writes to the console itself.</summary>
public interface IProgressReporter
{
    /// <summary>A step has started ("reading interpreter state of PID 42").</summary>
    void Step(string message);

    /// <summary>
    /// A step that leaves the user a choice ("debugging all 4 workers", the choice: debug PID 42 alone),
    /// which the CLI words with its option; without a CLI the choice is dropped.
    /// </summary>
    void Step(string message, Remedy? choice) => Step(message);

    /// <summary>Something the user should know before going on ("a breakpoint held longer than about 30 s restarts this container"); a step unless shown otherwise.</summary>
    void Warn(string message) => Step(message);
}
