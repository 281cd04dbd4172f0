namespace Wand.Progress;

/// <summary>Discards progress reports.</summary>
public sealed class NullProgress : IProgress
{
    public static NullProgress Instance { get; } = new();

    public void Step(string message) { }
}
