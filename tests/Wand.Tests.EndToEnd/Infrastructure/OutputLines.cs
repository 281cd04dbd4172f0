using System.Collections.Concurrent;
using System.Diagnostics;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>A running child's stdout and stderr, collected line by line as they arrive.</summary>
public sealed class OutputLines
{
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();

    /// <param name="onStdout">Also called with every stdout line (e.g. to parse events).</param>
    public OutputLines(Process process, Action<string>? onStdout = null)
    {
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            _stdout.Enqueue(e.Data);
            onStdout?.Invoke(e.Data);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _stderr.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public IEnumerable<string> StdoutLines => _stdout;
    public IEnumerable<string> StderrLines => _stderr;
    public string Stdout => string.Join('\n', _stdout);
    public string Stderr => string.Join('\n', _stderr);
}
