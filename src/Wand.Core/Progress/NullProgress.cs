namespace Wand.Progress;

/// <summary>Discards progress reports.</summary>
public sealed class NullProgress : IProgressReporter
{
    public static NullProgress Instance { get; } = new();

    public void Step(string message) { }
}
