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

    /// <summary>
    /// One attach by wand as the editor sees it, <paramref name="wand"/> started with <paramref name="args"/> on
    /// <paramref name="clock"/>: <c>--detach</c> exits once debugpy listens (the port it reports is checked); the
    /// session's port listens at once and holds initialize until the process is ready. Then connect and initialize,
    /// recorded as <see cref="InitializeIntoAsync"/> does.
    /// </summary>
    public static async Task WandAttachAsync(Candidate wand, string[] args, bool detach, int port, Stopwatch clock, Samples? into, Phases? phases)
    {
        await using var child = Child.Start(wand.Program, wand.Args(args), clock, env: new Dictionary<string, string?> { ["DEBUGWAND_SIMPLE_UI"] = "1" });
        (string, TimeSpan) step;
        if (detach)
        {
            step = await ExitedAsync(child, clock, "wand exit", $"{wand.Label} debug --detach", TimeSpan.FromSeconds(120));
            var reported = JsonNode.Parse(child.Stdout)?["port"]?.GetValue<int>();
            if (reported != port) throw new InvalidOperationException($"{wand.Label} debug reported port {reported}, asked for {port}:\n{child.Stdout}");
        }
        else step = ("wand's port listening", await ListeningAsync(port, clock, TimeSpan.FromSeconds(60), child));
        await InitializeIntoAsync(port, clock, child.StderrLines, [step], into, phases);
    }

    /// <summary>Waits for <paramref name="child"/> to exit 0: the clock's reading then, named <paramref name="step"/>. Else throws with its output.</summary>
    public static async Task<(string, TimeSpan)> ExitedAsync(Child child, Stopwatch clock, string step, string what, TimeSpan timeout)
    {
        var exit = await child.WaitForExitAsync(timeout);
        var at = clock.Elapsed;
        if (exit != 0) throw new InvalidOperationException($"{what} failed (exit {exit}).\nstdout:\n{child.Stdout}\nstderr:\n{child.Stderr}");
        return (step, at);
    }

    /// <summary>
    /// <see cref="InitializeAsync"/>, then the response's time into <paramref name="into"/>, and into <paramref name="phases"/>
    /// <paramref name="stderr"/>'s progress lines, <paramref name="steps"/>, the connect and the response.
    /// </summary>
    public static async Task InitializeIntoAsync(int port, Stopwatch clock, IReadOnlyList<(TimeSpan At, string Line)> stderr, (string, TimeSpan)[] steps,
        Samples? into, Phases? phases)
    {
        var (connected, initialized) = await InitializeAsync(port, clock);
        into?.Add(initialized);
        phases?.Add(stderr, [.. steps, ("DAP connect", connected), ("DAP initialize response", initialized)]);
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
