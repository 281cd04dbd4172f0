namespace Wand.Progress;

/// <summary>How library code reports what it is doing; it never writes to the console itself.</summary>
public interface IProgress
{
    /// <summary>A step has started ("reading interpreter state of PID 42").</summary>
    void Step(string message);
}
