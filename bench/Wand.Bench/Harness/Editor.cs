using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Session.Dap;

namespace Wand.Bench.Harness;

/// <summary>What the attach benchmarks do as the editor: wait for a port to listen, connect once, send <c>initialize</c>.</summary>
public static class Editor
{
    /// <summary>
    /// Waits until a socket listens on 127.0.0.1:<paramref name="port"/> (/proc/net/tcp, polled every
    /// millisecond: never a probe connection, which debugpy would take for the editor); returns the
    /// clock's reading. <paramref name="owner"/>: the process that should open it (its exit is an error).
    /// </summary>
    public static async Task<TimeSpan> ListeningAsync(int port, Stopwatch clock, TimeSpan timeout, Child? owner = null)
    {
        var want = $":{port:X4}";
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 3 && fields[1].EndsWith(want, StringComparison.Ordinal) && fields[3] == "0A") return clock.Elapsed;
            }
            if (owner is { HasExited: true }) throw new InvalidOperationException($"PID {owner.Pid} exited before port {port} listened.\nstderr:\n{owner.Stderr}");
            await Task.Delay(1);
        }
        throw new TimeoutException($"nothing listened on 127.0.0.1:{port} within {timeout.TotalSeconds:0} s{(owner is null ? "" : $"\nstderr:\n{owner.Stderr}")}");
    }

    /// <summary>Connects (once: never a bare probe) and sends <c>initialize</c>; returns the clock's readings after the connect and at the response.</summary>
    public static async Task<(TimeSpan Connected, TimeSpan Initialized)> InitializeAsync(int port, Stopwatch clock)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var client = await DapClient.ConnectAsync("127.0.0.1", port, cts.Token);
        var connected = clock.Elapsed;
        var body = await client.RequestAsync("initialize", new JsonObject
        {
            ["clientID"] = "wand-bench",
            ["clientName"] = "wand bench",
            ["adapterID"] = "debugpy",
            ["pathFormat"] = "path",
            ["linesStartAt1"] = true,
            ["columnsStartAt1"] = true,
            ["supportsRunInTerminalRequest"] = false,
        }, cts.Token);
        var initialized = clock.Elapsed;
        if (body["supportsConfigurationDoneRequest"] is null)
            throw new InvalidOperationException($"unexpected initialize response: {body.ToJsonString(new JsonSerializerOptions { WriteIndented = false })}");
        return (connected, initialized);
    }
}
