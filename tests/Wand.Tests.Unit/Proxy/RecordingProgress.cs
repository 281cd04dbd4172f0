using System.Collections.Concurrent;
using Wand.Progress;

namespace Wand.Tests.Unit.Proxy;

/// <summary>Keeps every progress line, for asserting what was logged.</summary>
internal sealed class RecordingProgress : IProgressReporter
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public void Step(string message) => _lines.Enqueue(message);
}
