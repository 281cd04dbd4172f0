using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Wand.Bench.Harness;
using static Wand.Bench.Harness.Editor;

namespace Wand.Bench;

/// <summary>
/// Time from the start of an attaching command until an editor's DAP <c>initialize</c> is answered, each
/// against a fresh chrooted Python 3.14 target (debugpy listens once per process), interleaved:
/// <list type="bullet">
/// <item>floor: a python3.14 doing <c>sys.remote_exec</c> of a script that calls <c>debugpy.listen</c>;</item>
/// <item><c>python3.14 -m debugpy --listen 127.0.0.1:P --pid PID</c> (debugpy 1.8.20 attaches 3.14 through <c>sys.remote_exec</c>), the yardstick;</item>
/// <item><c>wand debug --detach</c> and <c>wand debug</c> (the session, through wand's own port).</item>
/// </list>
/// Target from issue 15: the session and <c>--detach</c> at most 0.6x <c>debugpy --pid</c>.
/// </summary>
public static class DebugBench
{
    public const double TargetVsDebugpy = 0.6;

    /// <summary>The target: an idle main thread that wakes every 10 ms.</summary>
    private const string IdleTarget = """
        import time
        print("ready", flush=True)
        while True:
            time.sleep(0.01)
        """;

    public static async Task<IReadOnlyList<Verdict>> RunAsync(int iterations)
    {
        var candidates = BenchEnv.Candidates;
        BenchEnv.EnsureBuilt([.. candidates.Select(c => c.Location)]);
        Report.Title($"debug: from the attaching command's start until an editor's DAP initialize is answered " +
                     $"(N={iterations}, interleaved, a fresh chrooted Python {BenchEnv.PythonVersion} per run)");

        var floor = new Samples("floor: sys.remote_exec of debugpy.listen");
        var debugpy = new Samples("python -m debugpy --listen --pid");
        var debugpyPhases = new Phases();
        var floorPhases = new Phases();
        var runs = candidates.Select(c => (Wand: c,
            Detach: new Samples($"{c.Label} debug --detach"), DetachPhases: NewPhases(),
            Session: new Samples($"{c.Label} debug (session)"), SessionPhases: NewPhases())).ToList();

        for (var i = -1; i < iterations; i++) // -1: one unrecorded warm-up of each
        {
            var record = i >= 0;
            await InjectorAsync(FloorCommand, record ? floor : null, record ? floorPhases : null);
            await InjectorAsync(DebugpyPidCommand, record ? debugpy : null, record ? debugpyPhases : null);
            foreach (var run in runs)
            {
                await WandAsync(run.Wand, detach: true, record ? run.Detach : null, record ? run.DetachPhases : null);
                await WandAsync(run.Wand, detach: false, record ? run.Session : null, record ? run.SessionPhases : null);
            }
        }

        Report.Table([floor, debugpy, .. runs.SelectMany(r => new[] { r.Detach, r.Session })]);
        Report.Ratio(debugpy, floor);
        var verdicts = new List<Verdict>();
        foreach (var run in runs)
        {
            foreach (var (samples, name) in new[] { (run.Detach, "debug --detach"), (run.Session, "debug session") })
            {
                Report.Ratio(samples, floor);
                var ratio = Report.Ratio(samples, debugpy);
                var pass = ratio <= TargetVsDebugpy;
                Report.Line($"  target: {name} <= {TargetVsDebugpy}x debugpy --pid ({Report.F(TargetVsDebugpy * debugpy.Median)} ms) -> {Report.PassMiss(pass)} " +
                            $"(median {Report.F(samples.Median)} ms; {Report.X(ratio)} debugpy --pid)");
                verdicts.Add(new Verdict(runs.Count == 1 ? name : $"{name}[{run.Wand.Label}]", pass));
            }
        }
        floorPhases.Print("the floor's phases:");
        debugpyPhases.Print("debugpy --pid's phases:");
        foreach (var run in runs)
        {
            run.DetachPhases.Print($"where {run.Wand.Label} debug --detach's time goes (wand's stderr progress lines, then the DAP client):");
            run.SessionPhases.Print($"where {run.Wand.Label} debug (session)'s time goes (wand's stderr progress lines, then the DAP client):");
        }
        return verdicts;
    }

    private static Phases NewPhases() => new(
        ("dotnet start-up + CLI parsing (until 1st progress line)", "looking for Python processes"),
        ("process scan", "reading the interpreter state"),
        ("read interpreter state, open target, lock, request files", "asking PID"),
        ("safe point + debugpy import + listen (until ready)", " is ready"),
        ("safe point + debugpy import + listen (until listening)", "is listening in PID"));

    /// <summary>
    /// The floor's program, run by the rootfs's python3.14 (chrooted, so /tmp is the target's):
    /// writes a bootstrap that starts debugpy.listen in a thread, as wand's does, and hands it to sys.remote_exec.
    /// </summary>
    private static string[] FloorCommand(int pid, int port) =>
        ["chroot", BenchEnv.Rootfs, $"/usr/bin/python{BenchEnv.PythonVersion}", "-c", ByHandFloor.Program, .. ByHandFloor.Arguments(pid, "127.0.0.1", port, "/tmp", wait: false)];

    /// <summary>debugpy's own attach by PID, with the target's interpreter and debugpy (chrooted: its temporary script is in the target's /tmp).</summary>
    private static string[] DebugpyPidCommand(int pid, int port) =>
        ["chroot", BenchEnv.Rootfs, $"/usr/bin/python{BenchEnv.PythonVersion}", "-m", "debugpy", "--listen", $"127.0.0.1:{Str(port)}", "--pid", Str(pid)];

    /// <summary>
    /// A command that injects and returns (the floor, debugpy --pid); the clock stops when the editor's
    /// initialize is answered, sent once the port listens (read from /proc/net/tcp: no probe connection).
    /// </summary>
    private static async Task InjectorAsync(Func<int, int, string[]> command, Samples? into, Phases? phases)
    {
        var port = Adapters.FreePort();
        var tmp = Path.Combine(BenchEnv.Rootfs, "tmp");
        var before = Directory.GetFiles(tmp, "tmp*").ToHashSet();
        await using var target = BenchEnv.StartTarget(IdleTarget, Stopwatch.StartNew());
        try
        {
            await target.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));
            var argv = command(target.Pid, port);
            var clock = Stopwatch.StartNew();
            await using var child = Child.Start(argv[0], argv[1..], clock, env: BenchEnv.PythonEnv());
            var exit = await child.WaitForExitAsync(TimeSpan.FromSeconds(60));
            var returned = clock.Elapsed;
            if (exit != 0) throw new InvalidOperationException($"{string.Join(' ', argv[..4])} failed (exit {exit}).\nstdout:\n{child.Stdout}\nstderr:\n{child.Stderr}");
            var listening = await ListeningAsync(port, clock, TimeSpan.FromSeconds(60));
            var (connected, initialized) = await InitializeAsync(port, clock);
            into?.Add(initialized);
            phases?.Add([], ("injector exited (sys.remote_exec returned)", returned), ("port listening (debugpy import + listen)", listening),
                ("DAP connect", connected), ("DAP initialize response", initialized));
        }
        finally
        {
            await target.DisposeAsync();
            Adapters.Kill(port);
            File.Delete(Path.Combine(tmp, $"bench-bootstrap-{Str(port)}.py")); // the floor's, left for the target
            // debugpy --pid's script (tempfile.NamedTemporaryFile in the target's /tmp) removes itself only after
            // listen() returned, which may be after the target was killed.
            foreach (var file in Directory.GetFiles(tmp, "tmp*").Where(f => !before.Contains(f))) File.Delete(file);
        }
    }

    /// <summary>
    /// <c>wand debug --detach</c>: the clock stops at the initialize response sent once wand has exited (it
    /// exits when debugpy listens). <c>wand debug</c>: the editor connects to wand's port as soon as it listens
    /// (an editor pressing F5 at once; its initialize is held until the process is ready).
    /// </summary>
    private static async Task WandAsync(Candidate wand, bool detach, Samples? into, Phases? phases)
    {
        var port = Adapters.FreePort();
        await using var target = BenchEnv.StartTarget(IdleTarget, Stopwatch.StartNew());
        try
        {
            await target.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));
            var clock = Stopwatch.StartNew();
            string[] args = detach
                ? wand.Args("debug", "--detach", "--pid", Str(target.Pid), "--port", Str(port), "--output", "json")
                : wand.Args("debug", "--pid", Str(target.Pid), "--port", Str(port), "--yes");
            await using var child = Child.Start(wand.Program, args, clock, env: new Dictionary<string, string?> { ["DEBUGWAND_SIMPLE_UI"] = "1" });
            var steps = new List<(string, TimeSpan)>();
            if (detach)
            {
                var exit = await child.WaitForExitAsync(TimeSpan.FromSeconds(120));
                steps.Add(("wand exit", clock.Elapsed));
                if (exit != 0) throw new InvalidOperationException($"{wand.Label} debug --detach failed (exit {exit}).\nstdout:\n{child.Stdout}\nstderr:\n{child.Stderr}");
                var reported = JsonNode.Parse(child.Stdout)?["port"]?.GetValue<int>();
                if (reported != port) throw new InvalidOperationException($"{wand.Label} debug reported port {reported}, asked for {port}:\n{child.Stdout}");
            }
            else steps.Add(("wand's port listening", await ListeningAsync(port, clock, TimeSpan.FromSeconds(60), child)));
            var (connected, initialized) = await InitializeAsync(port, clock);
            into?.Add(initialized);
            phases?.Add(child.StderrLines, [.. steps, ("DAP connect", connected), ("DAP initialize response", initialized)]);
        }
        finally
        {
            await target.DisposeAsync();
            Adapters.Kill(port);
            Adapters.Kill(port + 1); // the session's debugpy took the next port inside (wand's proxy holds PORT)
        }
    }

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);
}
