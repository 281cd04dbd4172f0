using System.Collections.Concurrent;
using System.Diagnostics;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>A running child's stdout and stderr, collected line by line as they arrive.</summary>
public sealed class OutputLines
{
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly int? _stdoutFd;
    private readonly int? _stderrFd;
    private volatile bool _stdoutEnded;
    private volatile bool _stderrEnded;
    private int _linesAtLastLook = -1;

    /// <param name="onStdout">Also called with every stdout line (e.g. to parse events).</param>
    public OutputLines(Process process, Action<string>? onStdout = null)
    {
        _stdoutFd = UnreadPipe.ReadEndOf(process.Id, 1);
        _stderrFd = UnreadPipe.ReadEndOf(process.Id, 2);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _stdoutEnded = true;
                return;
            }
            _stdout.Enqueue(e.Data);
            onStdout?.Invoke(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) _stderr.Enqueue(e.Data);
            else _stderrEnded = true;
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public IEnumerable<string> StdoutLines => _stdout;
    public IEnumerable<string> StderrLines => _stderr;
    public string Stdout => string.Join('\n', _stdout);
    public string Stderr => string.Join('\n', _stderr);

    /// <summary>
    /// For a child that has exited: everything it wrote has been read. Each stream is at its end, or (a daemon
    /// it started keeps the pipe open) its pipe holds no unread byte and no line arrived since the previous
    /// look (the reader may hold a chunk it read a moment ago). Poll it (<c>Eventually</c>).
    /// </summary>
    public bool AllRead()
    {
        var lines = _stdout.Count + _stderr.Count;
        var settled = Interlocked.Exchange(ref _linesAtLastLook, lines) == lines;
        return Done(_stdoutEnded, _stdoutFd) && Done(_stderrEnded, _stderrFd);

        bool Done(bool ended, int? fd) => ended || (settled && fd is { } f && UnreadPipe.Bytes(f) is 0);
    }
}
