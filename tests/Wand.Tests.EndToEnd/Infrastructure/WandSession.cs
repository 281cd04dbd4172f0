using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// A long-running wand command (a debug session that stays in the foreground) whose stdout carries
/// one JSON event per line (<c>--output json</c>). Ended with SIGINT, as Ctrl+C would.
/// </summary>
public sealed class WandSession : IAsyncDisposable
{
    private readonly Process _process;
    private readonly BlockingCollection<JsonElement> _events = new();
    private readonly OutputLines _output;

    private WandSession(Process process)
    {
        _process = process;
        _output = new OutputLines(process, line =>
        {
            if (line.StartsWith('{')) _events.Add(JsonDocument.Parse(line).RootElement.Clone());
        });
    }

    public string Stderr => _output.Stderr;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public static WandSession Start(IEnumerable<string> args)
    {
        var argv = TestedTool.Wand.With(args);
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment["DEBUGWAND_SIMPLE_UI"] = "1";
        return new WandSession(Process.Start(psi)!);
    }

    /// <summary>The next JSON event on stdout.</summary>
    public JsonElement NextEvent(TimeSpan timeout)
    {
        if (_events.TryTake(out var e, timeout)) return e;
        throw new TimeoutException($"no event from wand within {timeout.TotalSeconds} s (exited: {_process.HasExited}). stdout:\n{_output.Stdout}\nstderr:\n{Stderr}");
    }

    /// <summary>The next JSON event named <paramref name="name"/> ("reattached"), skipping others ("detached").</summary>
    public JsonElement NextEvent(string name, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var e = NextEvent(deadline - DateTime.UtcNow is { Ticks: > 0 } left ? left : TimeSpan.Zero);
            if (e.GetProperty("event").GetString() == name) return e;
        }
    }

    /// <summary>Sends SIGINT (Ctrl+C) and waits for wand to finish its cleanup.</summary>
    public async Task<int> InterruptAsync(TimeSpan timeout)
    {
        if (!_process.HasExited) Process.Start("kill", ["-INT", _process.Id.ToString()])!.WaitForExit();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"wand did not end within {timeout.TotalSeconds} s of Ctrl+C. stderr:\n{Stderr}");
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                await InterruptAsync(TimeSpan.FromSeconds(20));
            }
            catch (TimeoutException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }
}
