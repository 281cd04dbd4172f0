using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wand.Bench.Harness;
using Wand.Injection;
using Wand.Injection.Debugpy;
using Wand.Progress;
using Wand.Session.Dap;
using Wand.Session.Proxy;
using Wand.Transport.Local;

namespace Wand.Bench;

/// <summary>
/// The DAP proxy's cost, two figures. (1) Added latency: against one real debugpy in a chrooted
/// Python 3.14 stopped at a breakpoint, the round trip of <c>stackTrace</c>, <c>scopes</c> and
/// <c>variables</c> requests from a DAP client connected straight to debugpy (the floor) and through
/// the proxy (in this process), in alternating blocks in the same run. Target: median added latency
/// under 1 ms. (2) Armed time: from <c>AddBackend</c> of a new process (the editor's session waiting
/// after the previous one went away) until its breakpoints are set and configurationDone answered,
/// as the editor sees it (the proxy's "now debugging" line), against a fresh client attaching
/// straight to another new process with the same breakpoints (what pressing F5 again costs at
/// least). Target: within 0.5 s.
/// </summary>
public static class ProxyBench
{
    public const double TargetAddedMs = 1.0;
    public const double TargetArmedMs = 500;
    private const string LoopPath = "/srv/apps/loop.py";
    private const int Blocks = 4;

    public static async Task<IReadOnlyList<Verdict>> RunAsync(int iterations)
    {
        // At least 200 round trips per kind and path, whatever --iterations says for the other benchmarks.
        var perBlock = Math.Max(200, iterations) / Blocks;
        var armedRuns = Math.Clamp(iterations / 30, 5, 12);
        Report.Title($"proxy: stackTrace/scopes/variables round trips straight to debugpy vs through the DAP proxy " +
                     $"(N={perBlock * Blocks} each, {Blocks} alternating blocks, one stopped target), and AddBackend until armed (N={armedRuns})");
        return [await PhaseAsync("added latency", () => LatencyAsync(perBlock)), await PhaseAsync("armed time", () => ArmedAsync(armedRuns))];
    }

    /// <summary>Runs one part; a failure names the part and keeps its stack (Program prints only the message).</summary>
    private static async Task<Verdict> PhaseAsync(string name, Func<Task<Verdict>> run)
    {
        try
        {
            return await run();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"proxy bench, {name}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}", e);
        }
    }

    // ---- added latency -----------------------------------------------------------------------------

    private static async Task<Verdict> LatencyAsync(int perBlock)
    {
        var kinds = new[] { "stackTrace", "scopes", "variables" };
        var direct = kinds.ToDictionary(k => k, k => new Samples($"{k} direct (floor)"));
        var proxied = kinds.ToDictionary(k => k, k => new Samples($"{k} through the proxy"));
        var allDirect = new Samples("all three direct (floor)");
        var allProxied = new Samples("all three through the proxy");

        var clock = Stopwatch.StartNew();
        await using var target = StartLoop(clock);
        var port = Adapters.FreePort();
        try
        {
            await Task.Delay(300); // past its imports
            await Injector().StartAsync(target.Pid, "127.0.0.1", port, null, TimeSpan.FromSeconds(10), CancellationToken.None);
            await using var proxy = DapProxy.Start(0, NullProgress.Instance);
            proxy.AddBackend($"pid {target.Pid}", $"PID {target.Pid}", Connect(port));

            // Unrecorded warm-up of both paths (JIT, debugpy's first frames), then A B A B ...
            await BlockAsync(port, Math.Min(20, perBlock), null, null);
            await BlockAsync(proxy.LocalPort, Math.Min(20, perBlock), null, null);
            for (var b = 0; b < Blocks; b++)
            {
                await BlockAsync(port, perBlock, direct, allDirect);
                await BlockAsync(proxy.LocalPort, perBlock, proxied, allProxied);
            }
        }
        finally
        {
            await target.DisposeAsync();
            Adapters.Kill(port);
        }

        // Diagnostic: the same blocks against a minimal DAP responder in this process, whose answers
        // take microseconds, so the proxy's own cost is not hidden in debugpy's round-trip time.
        var echoDirect = new Samples("all three, instant responder direct (diagnostic)");
        var echoProxied = new Samples("all three, instant responder through the proxy (diagnostic)");
        await using (var responder = InstantResponder.Start())
        await using (var proxy = DapProxy.Start(0, NullProgress.Instance))
        {
            proxy.AddBackend("responder", "the instant responder", Connect(responder.Port));
            await BlockAsync(responder.Port, 100, null, null);
            await BlockAsync(proxy.LocalPort, 100, null, null);
            for (var b = 0; b < Blocks; b++)
            {
                await BlockAsync(responder.Port, perBlock, null, echoDirect);
                await BlockAsync(proxy.LocalPort, perBlock, null, echoProxied);
            }
        }

        Report.Table([.. kinds.SelectMany(k => new[] { direct[k], proxied[k] }), allDirect, allProxied, echoDirect, echoProxied]);
        Report.Line($"instant responder: the proxy adds {Report.F(echoProxied.Median - echoDirect.Median, "0.000")} ms median per request " +
                    $"({Report.F(echoDirect.Median, "0.000")} -> {Report.F(echoProxied.Median, "0.000")} ms; p90 {Report.F(echoDirect.Percentile(90), "0.000")} -> {Report.F(echoProxied.Percentile(90), "0.000")} ms)");
        foreach (var k in kinds)
            Report.Line($"{k}: added {Report.F(proxied[k].Median - direct[k].Median, "0.000")} ms median ({Report.F(direct[k].Median, "0.000")} -> {Report.F(proxied[k].Median, "0.000")} ms)");
        var added = allProxied.Median - allDirect.Median;
        var pass = added < TargetAddedMs;
        Report.Line($"target: median added latency < {Report.F(TargetAddedMs)} ms -> {Report.PassMiss(pass)} " +
                    $"(direct {Report.F(allDirect.Median, "0.000")} ms, through the proxy {Report.F(allProxied.Median, "0.000")} ms: added {Report.F(added, "0.000")} ms; ratio {Report.X(allProxied.Median / allDirect.Median)})");
        return new Verdict("proxy latency", pass);
    }

    /// <summary>Attaches at <paramref name="port"/>, waits for the stop in tick(), times the requests, then lets the target go and detaches.</summary>
    private static async Task BlockAsync(int port, int rounds, Dictionary<string, Samples>? into, Samples? all)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var client = await DapClient.ConnectAsync("127.0.0.1", port, cts.Token);
        await client.AttachAsync(TickBreakpoint(), cancellationToken: cts.Token);
        var stopped = await client.WaitForStoppedAsync(TimeSpan.FromSeconds(30), cts.Token);
        var watch = new Stopwatch();
        for (var i = 0; i < rounds; i++)
        {
            watch.Restart();
            var frames = await client.StackTraceAsync(stopped.ThreadId, cts.Token);
            var stack = watch.Elapsed;
            watch.Restart();
            var scopes = await client.ScopesAsync(frames[0].Id, cts.Token);
            var scope = watch.Elapsed;
            watch.Restart();
            var variables = await client.VariablesAsync(scopes.First(s => s.Name == "Locals").VariablesReference, cts.Token);
            var vars = watch.Elapsed;
            if (!variables.Any(v => v.Name == "n")) throw new InvalidOperationException("tick()'s locals have no 'n': not stopped where expected");
            if (all is null) continue;
            if (into is not null)
            {
                into["stackTrace"].Add(stack);
                into["scopes"].Add(scope);
                into["variables"].Add(vars);
            }
            all.Add(stack);
            all.Add(scope);
            all.Add(vars);
        }
        await client.RequestAsync("setBreakpoints", new JsonObject { ["source"] = new JsonObject { ["path"] = LoopPath }, ["breakpoints"] = new JsonArray() }, cts.Token);
        await client.ContinueAsync(stopped.ThreadId, cts.Token);
        await client.DisconnectAsync(cancellationToken: cts.Token);
    }

    // ---- armed time --------------------------------------------------------------------------------

    private static async Task<Verdict> ArmedAsync(int runs)
    {
        var armed = new Samples("AddBackend until armed, as the editor sees it");
        var proxyOwn = new Samples("AddBackend until armed, the proxy's own log (diagnostic)");
        var floor = new Samples("fresh client attach straight to debugpy (floor)");
        var clock = Stopwatch.StartNew();
        var progress = new Lines();
        await using var proxy = DapProxy.Start(0, progress);
        var injector = Injector();
        var ports = new List<int>();

        // The editor's session: attached through the proxy to a first process, with a breakpoint
        // that is armed but never hit (the module's last line runs once, at start).
        var (current, currentPort) = await DebuggedLoopAsync(injector, clock, ports);
        try
        {
            proxy.AddBackend($"pid {current.Pid}", $"PID {current.Pid}", Connect(currentPort));
            await using var editor = await DapClient.ConnectAsync("127.0.0.1", proxy.LocalPort);
            await editor.AttachAsync(ArmedOnlyBreakpoint());
            for (var i = -1; i < runs; i++)
            {
                var (next, nextPort) = await DebuggedLoopAsync(injector, clock, ports);
                var (other, otherPort) = await DebuggedLoopAsync(injector, clock, ports);
                var record = i >= 0;
                // Alternate which is timed first, so neither always runs on a quieter machine.
                if (i % 2 == 0) await FloorAsync(otherPort, record ? floor : null);

                var old = current;
                proxy.RemoveBackend($"pid {old.Pid}", "replaced by the benchmark");
                await editor.WaitForEventAsync("output", e => Text(e).Contains("went away", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
                var before = progress.Count;
                var watch = Stopwatch.StartNew();
                proxy.AddBackend($"pid {next.Pid}", $"PID {next.Pid}", Connect(nextPort));
                await editor.WaitForEventAsync("output", e => Text(e).Contains($"now debugging PID {next.Pid}", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
                var seen = watch.Elapsed;
                if (record)
                {
                    armed.Add(seen);
                    if (progress.ArmedMsSince(before) is { } own) proxyOwn.Add(own);
                }

                if (i % 2 != 0) await FloorAsync(otherPort, record ? floor : null);
                await old.DisposeAsync();
                await other.DisposeAsync();
                current = next;
            }
            await editor.DisconnectAsync();
        }
        finally
        {
            await current.DisposeAsync();
            foreach (var port in ports) Adapters.Kill(port);
        }

        Report.Table(armed, proxyOwn, floor);
        var pass = armed.Median <= TargetArmedMs;
        Report.Line($"target: armed within {Report.F(TargetArmedMs, "0")} ms -> {Report.PassMiss(pass)} " +
                    $"(median {Report.F(armed.Median)} ms; a fresh attach straight to debugpy takes {Report.F(floor.Median)} ms; ratio {Report.X(armed.Median / floor.Median)})");
        return new Verdict("proxy armed", pass);
    }

    private static async Task FloorAsync(int port, Samples? into)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var watch = Stopwatch.StartNew();
        await using var client = await DapClient.ConnectAsync("127.0.0.1", port, cts.Token);
        await client.AttachAsync(ArmedOnlyBreakpoint(), cancellationToken: cts.Token);
        into?.Add(watch.Elapsed);
        await client.DisconnectAsync(cancellationToken: cts.Token);
    }

    // ---- helpers -----------------------------------------------------------------------------------

    private static async Task<(Child Target, int Port)> DebuggedLoopAsync(DebugpyInjector injector, Stopwatch clock, List<int> ports)
    {
        var target = StartLoop(clock);
        var port = Adapters.FreePort();
        ports.Add(port);
        try
        {
            await Task.Delay(300); // past its imports
            await injector.StartAsync(target.Pid, "127.0.0.1", port, null, TimeSpan.FromSeconds(10), CancellationToken.None);
            return (target, port);
        }
        catch
        {
            await target.DisposeAsync();
            throw;
        }
    }

    private static Child StartLoop(Stopwatch clock) =>
        Child.Start("chroot", [BenchEnv.Rootfs, $"/usr/bin/python{BenchEnv.PythonVersion}", LoopPath], clock, env: BenchEnv.PythonEnv());

    private static DebugpyInjector Injector() =>
        new(new PayloadRunner(ProcFs.Default, TimeProvider.System, NullProgress.Instance), DebugpyLocator.Default, NullProgress.Instance);

    private static Func<CancellationToken, Task<Stream>> Connect(int port) => async cancellationToken =>
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync("127.0.0.1", port, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new NetworkStream(socket, ownsSocket: true);
    };

    private static Dictionary<string, IReadOnlyList<int>> TickBreakpoint() => new() { [LoopPath] = [LineOf("# BREAKPOINT: tick")] };

    private static Dictionary<string, IReadOnlyList<int>> ArmedOnlyBreakpoint() => new() { [LoopPath] = [LineOf("sys.exit(main())")] };

    private static int LineOf(string text)
    {
        var lines = File.ReadAllLines(Path.Combine(BenchEnv.Rootfs, LoopPath.TrimStart('/')));
        var index = Array.FindIndex(lines, l => l.Contains(text, StringComparison.Ordinal));
        return index >= 0 ? index + 1 : throw new InvalidOperationException($"no '{text}' in {LoopPath}");
    }

    private static string Text(JsonObject outputEvent) => (string?)outputEvent["body"]?["output"] ?? "";

    /// <summary>The proxy's progress lines; reads its own "breakpoints armed N ms after it was added" figure.</summary>
    private sealed class Lines : IProgressReporter
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public int Count => _lines.Count;

        public void Step(string message) => _lines.Enqueue(message);

        public double? ArmedMsSince(int index)
        {
            foreach (var line in _lines.Skip(index))
            {
                var at = line.IndexOf("breakpoints armed ", StringComparison.Ordinal);
                if (at < 0) continue;
                var figure = line[(at + "breakpoints armed ".Length)..].Split(' ')[0];
                if (double.TryParse(figure, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms)) return ms;
            }
            return null;
        }
    }
}
