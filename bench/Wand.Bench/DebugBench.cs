using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Bench.Harness;
using Wand.Injection;
using Wand.Injection.Debugpy;
using Wand.Progress;
using Wand.Session.Dap;
using Wand.Transport.Local;

namespace Wand.Bench;

/// <summary>
/// Time from <c>wand debug --pid</c> start to the first successful DAP <c>initialize</c> response,
/// against the floor: the same interpreter running <c>import debugpy; debugpy.listen(...)</c> itself
/// (told to start through stdin, so interpreter start-up is outside both clocks), until the same
/// <c>initialize</c> response. debugpy can listen once per process, so every run gets a fresh
/// chrooted target. Target from the issue: candidate within 1.3x of the floor plus 100 ms.
/// </summary>
public static class DebugBench
{
    public const double TargetFactor = 1.3;
    public const double TargetSlackMs = 100;

    /// <summary>The candidate's target: an idle main thread that wakes every 10 ms.</summary>
    private const string IdleTarget = """
        import time
        print("ready", flush=True)
        while True:
            time.sleep(0.01)
        """;

    /// <summary>
    /// The floor's target: waits on stdin, then listens as an application would. The environment
    /// variable is the one wand's bootstrap sets before listen() (it only silences a warning).
    /// </summary>
    private const string ListeningTarget = """
        import os, sys, time
        print("ready", flush=True)
        sys.stdin.readline()
        os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        import debugpy
        debugpy.listen(("127.0.0.1", int(sys.argv[1])))
        print("listening", flush=True)
        while True:
            time.sleep(0.01)
        """;

    public static async Task<IReadOnlyList<Verdict>> RunAsync(int iterations)
    {
        var candidates = BenchEnv.Candidates;
        BenchEnv.EnsureBuilt([.. candidates.Select(c => c.Location)]);
        Report.Title($"debug: `wand debug --pid` start until the first DAP initialize response vs in-process debugpy.listen() until the same response " +
                     $"(N={iterations}, interleaved, a fresh target per run)");

        var runs = candidates.Select(c => (Wand: c, Samples: new Samples($"{c.Label} debug (candidate)"), Phases: NewPhases())).ToList();
        var floor = new Samples("debugpy.listen in-process (floor)");
        var library = new Samples("wand library in-process (diagnostic)");
        var floorPhases = new Phases();

        foreach (var run in runs) await CandidateAsync(run.Wand, null, null);
        await FloorAsync(null, null);
        await LibraryAsync(null);
        for (var i = 0; i < iterations; i++)
        {
            foreach (var run in runs) await CandidateAsync(run.Wand, run.Samples, run.Phases);
            await FloorAsync(floor, floorPhases);
            await LibraryAsync(library);
        }

        Report.Table([.. runs.Select(r => r.Samples), floor, library]);
        var limit = TargetFactor * floor.Median + TargetSlackMs;
        var verdicts = new List<Verdict>();
        foreach (var run in runs)
        {
            var ratio = Report.Ratio(run.Samples, floor);
            var pass = run.Samples.Median <= limit;
            var margin = run.Samples.Median - limit;
            Report.Line($"  target: wand debug <= {TargetFactor}x floor + {TargetSlackMs} ms = {Report.F(limit)} ms -> {Report.PassMiss(pass)} " +
                        $"(median {Report.F(run.Samples.Median)} ms: {Report.F(Math.Abs(margin))} ms {(pass ? "under" : "over")} the limit; ratio {Report.X(ratio)})");
            verdicts.Add(new Verdict(runs.Count == 1 ? "debug" : $"debug[{run.Wand.Label}]", pass));
        }
        foreach (var run in runs)
            run.Phases.Print($"where {run.Wand.Label}'s time goes (from wand's stderr progress lines, then the DAP client):");
        Report.Line("(\"injection .. wand exit\": safe point, debugpy import + listen() in the target, result read back, JSON printed, exit)");
        floorPhases.Print("the floor's phases:");
        return verdicts;
    }

    private static Phases NewPhases() => new(
        ("start-up + CLI parsing (until 1st progress line)", "starting debugpy in PID"),
        ("read interpreter state", "reading the interpreter state"),
        ("open target, lock, write request files", "asking PID"));

    private static async Task CandidateAsync(Candidate wand, Samples? into, Phases? phases)
    {
        var port = Adapters.FreePort();
        var targetClock = Stopwatch.StartNew();
        await using var target = BenchEnv.StartTarget(IdleTarget, targetClock);
        try
        {
            await target.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));
            var clock = Stopwatch.StartNew();
            await using var child = Child.Start(wand.Program,
                wand.Args("debug", "--detach", "--pid", Str(target.Pid), "--port", Str(port), "--output", "json"), clock,
                env: new Dictionary<string, string?> { ["DEBUGWAND_SIMPLE_UI"] = "1" });
            var exit = await child.WaitForExitAsync(TimeSpan.FromSeconds(120));
            var wandDone = clock.Elapsed;
            if (exit != 0) throw new InvalidOperationException($"{wand.Label} debug failed (exit {exit}).\nstdout:\n{child.Stdout}\nstderr:\n{child.Stderr}");
            var reported = JsonNode.Parse(child.Stdout)?["port"]?.GetValue<int>();
            if (reported != port) throw new InvalidOperationException($"{wand.Label} debug reported port {reported}, asked for {port}:\n{child.Stdout}");
            var (connected, initialized) = await InitializeAsync(port, clock);
            into?.Add(initialized);
            phases?.Add(child.StderrLines, ("injection .. wand exit", wandDone), ("DAP connect", connected), ("DAP initialize response", initialized));
        }
        finally
        {
            await target.DisposeAsync();
            Adapters.Kill(port);
        }
    }

    private static async Task FloorAsync(Samples? into, Phases? phases)
    {
        var port = Adapters.FreePort();
        var clock = new Stopwatch();
        await using var target = BenchEnv.StartTarget(ListeningTarget, clock, Str(port));
        try
        {
            await target.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));
            clock.Restart();
            await target.WriteLineAsync("go");
            var listening = await target.WaitForStdoutAsync("listening", TimeSpan.FromSeconds(120));
            var (connected, initialized) = await InitializeAsync(port, clock);
            into?.Add(initialized);
            phases?.Add([], ("import debugpy + listen() (until \"listening\" read)", listening), ("DAP connect", connected), ("DAP initialize response", initialized));
        }
        finally
        {
            await target.DisposeAsync();
            Adapters.Kill(port);
        }
    }

    /// <summary>wand's DebugpyInjector called from this (warm) process: no CLI start-up, the rest as the candidate.</summary>
    private static async Task LibraryAsync(Samples? into)
    {
        var port = Adapters.FreePort();
        await using var target = BenchEnv.StartTarget(IdleTarget, Stopwatch.StartNew());
        try
        {
            await target.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));
            var clock = Stopwatch.StartNew();
            var injector = new DebugpyInjector(new PayloadRunner(ProcFs.Default, TimeProvider.System, NullProgress.Instance), DebugpyLocator.Default, NullProgress.Instance);
            var endpoint = await injector.StartAsync(target.Pid, "127.0.0.1", port, null, TimeSpan.FromSeconds(5), CancellationToken.None);
            if (endpoint.Port != port) throw new InvalidOperationException($"DebugpyInjector listened on {endpoint.Port}, asked for {port}");
            var (_, initialized) = await InitializeAsync(port, clock);
            into?.Add(initialized);
        }
        finally
        {
            await target.DisposeAsync();
            Adapters.Kill(port);
        }
    }

    /// <summary>Connects (once: never a bare probe) and sends <c>initialize</c>; returns the clock's readings after the connect and at the response.</summary>
    private static async Task<(TimeSpan Connected, TimeSpan Initialized)> InitializeAsync(int port, Stopwatch clock)
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

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);
}
