using System.Collections.Concurrent;
using System.Diagnostics;

namespace Wand.Bench.Harness;

/// <summary>
/// A process the benchmark started. Its stdout and stderr are read line by line as they arrive, each
/// line stamped with the benchmark's clock, so that phases can be timed from the outside. Every child
/// is registered until disposed, so <see cref="KillAll"/> can end whatever is left (Ctrl+C, failures).
/// </summary>
public sealed class Child : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<int, Process> Live = new();

    private readonly Process _process;
    private readonly Stopwatch _clock;
    private readonly Lock _gate = new();
    private readonly List<(TimeSpan At, string Line)> _stdout = [];
    private readonly List<(TimeSpan At, string Line)> _stderr = [];
    private readonly List<(string Text, TaskCompletionSource<TimeSpan> Seen)> _waiters = [];
    private readonly Task _readers;
    private int _disposed;

    private Child(Process process, Stopwatch clock)
    {
        _process = process;
        _clock = clock;
        Live[process.Id] = process;
        _readers = Task.WhenAll(ReadAsync(process.StandardOutput, _stdout), ReadAsync(process.StandardError, _stderr));
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Stdout
    {
        get { lock (_gate) return string.Join('\n', _stdout.Select(l => l.Line)); }
    }

    public string Stderr
    {
        get { lock (_gate) return string.Join('\n', _stderr.Select(l => l.Line)); }
    }

    /// <summary>Stderr lines with the clock's reading when each arrived.</summary>
    public IReadOnlyList<(TimeSpan At, string Line)> StderrLines
    {
        get { lock (_gate) return [.. _stderr]; }
    }

    /// <summary>Starts <paramref name="file"/> with stdin, stdout and stderr redirected. <paramref name="clock"/> stamps the output lines.</summary>
    public static Child Start(string file, IEnumerable<string> args, Stopwatch clock, string? workingDirectory = null, IDictionary<string, string?>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                if (v is null) psi.Environment.Remove(k);
                else psi.Environment[k] = v;
            }
        }
        return new Child(Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}"), clock);
    }

    /// <summary>Completes with the clock's reading when a line of stdout containing <paramref name="text"/> has arrived.</summary>
    public async Task<TimeSpan> WaitForStdoutAsync(string text, TimeSpan timeout)
    {
        TaskCompletionSource<TimeSpan> seen;
        lock (_gate)
        {
            foreach (var (at, line) in _stdout)
                if (line.Contains(text, StringComparison.Ordinal)) return at;
            seen = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((text, seen));
        }
        var finished = await Task.WhenAny(seen.Task, _readers, Task.Delay(timeout));
        if (finished == seen.Task) return await seen.Task;
        if (seen.Task.IsCompleted) return await seen.Task;
        throw new InvalidOperationException(finished == _readers
            ? $"PID {Pid} closed its stdout (exit {(_process.HasExited ? _process.ExitCode : -1)}) before printing '{text}'.\nstdout:\n{Stdout}\nstderr:\n{Stderr}"
            : $"PID {Pid} did not print '{text}' within {timeout.TotalSeconds:0} s.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
    }

    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits for the exit and for all of its output to be read; kills it on timeout.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await _readers.WaitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"PID {Pid} ({_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)}) did not finish within {timeout.TotalSeconds:0} s.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        return _process.ExitCode;
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // already gone
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Kill();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine($"warning: PID {Pid} did not exit 10 s after SIGKILL");
        }
        Live.TryRemove(_process.Id, out _);
        _process.Dispose();
    }

    /// <summary>Kills every child still registered (used on Ctrl+C and at exit).</summary>
    public static void KillAll()
    {
        foreach (var (pid, process) in Live)
        {
            try
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // already gone
            }
            Live.TryRemove(pid, out _);
        }
    }

    private async Task ReadAsync(StreamReader reader, List<(TimeSpan At, string Line)> into)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            var at = _clock.Elapsed;
            lock (_gate)
            {
                into.Add((at, line));
                if (ReferenceEquals(into, _stdout))
                {
                    for (var i = _waiters.Count - 1; i >= 0; i--)
                    {
                        if (!line.Contains(_waiters[i].Text, StringComparison.Ordinal)) continue;
                        _waiters[i].Seen.TrySetResult(at);
                        _waiters.RemoveAt(i);
                    }
                }
            }
        }
    }
}
