using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Bench.Harness;
using Wand.Session.Dap;
using Wand.Testing;
using Wand.Transport;

namespace Wand.Bench;

/// <summary>
/// rdg attach against a floor measured in the same run, interleaved (issue 15's target: at most 1.5x the floor;
/// <c>rdg --help</c> is measured by <see cref="StartupBench"/>): from the start of
/// <c>rdg attach JOB PID</c> (an unprepared Python 3.14 in a real Slurm job: zero-prep attach, squeue, then
/// one <c>srun --overlap</c> step that injects) until the DAP <c>initialize</c> response on the address and
/// port rdg printed. Floor: one <c>srun --jobid=J --overlap</c> step whose Python 3.14 does the same
/// injection by hand (writes a bootstrap that starts <c>debugpy.listen</c>, <c>sys.remote_exec</c>, polls
/// the node's socket table until the port listens), then the same <c>initialize</c>.
/// Also timed, as a yardstick: one such step running <c>python3.14 -m debugpy --listen HOST:PORT --pid PID</c>
/// until its port listens, then the same <c>initialize</c>.
/// debugpy listens once per process, so every iteration gets a fresh job with three idle Pythons: one
/// for rdg, one for the floor, one for debugpy. The NativeAOT rdg is published (Release, linux-x64) from src/Rdg.Cli at the start.
/// </summary>
public static class RdgBench
{
    /// <summary>The job's Python: prints its PID, then idles waking every 10 ms.</summary>
    private const string Idle = "import os, time\nprint('ready', os.getpid(), flush=True)\nwhile True:\n    time.sleep(0.01)\n";

    /// <summary>Starts three idle Pythons in the job and waits for them (argv: PYTHON SCRIPT).</summary>
    private const string JobScript = "#!/bin/bash\n\"$1\" -u \"$2\" &\n\"$1\" -u \"$2\" &\n\"$1\" -u \"$2\" &\nwait\n";

    public const double TargetRatio = 1.5;

    /// <summary>debugpy's own attach by PID (argv: PID HOST PORT), then the floor's wait for the port.</summary>
    private const string DebugpyPid = """
        import subprocess, sys, time
        pid, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
        subprocess.run([sys.executable, "-m", "debugpy", "--listen", "%s:%d" % (host, port), "--pid", pid], check=True)
        want = ":%04X " % port
        while not any(want in line and line.split()[3] == "0A" for line in open("/proc/net/tcp").read().splitlines()[1:]):
            time.sleep(0.002)
        """;

    public static async Task<IReadOnlyList<Verdict>> RunAsync(int attachIterations)
    {
        var rdg = new Candidate("rdg", BenchEnv.PublishAot("src/Rdg.Cli", "rdg"));
        var ratio = await AttachAsync(rdg, attachIterations);
        return [new Verdict("rdg-attach", ratio <= TargetRatio)];
    }

    // ------------------------------------------------------------------ attach ----

    private static async Task<double> AttachAsync(Candidate rdg, int iterations)
    {
        BenchEnv.EnsureTestbed();
        var conf = await EnsureSlurmAsync();
        Report.Title($"rdg attach: `rdg attach JOB PID` (zero-prep, Python 3.14 in a Slurm job) until the DAP initialize response vs one " +
                     $"`srun --overlap` step doing sys.remote_exec by hand until the port listens, then the same initialize (N={iterations}, a fresh job per run)");
        var dir = Directory.CreateTempSubdirectory("rdg-bench-").FullName;
        var attach = new Samples("rdg attach (candidate)");
        var attachExit = new Samples("  of which: rdg attach until exit");
        var floor = new Samples("srun + sys.remote_exec (floor)");
        var floorExit = new Samples("  of which: srun step until exit");
        var debugpy = new Samples("srun + python3.14 -m debugpy --pid");
        var phases = new Phases(
            ("start-up + squeue + scontrol (until 1st progress line)", "starting the debugger in PID"));
        try
        {
            var env = new Dictionary<string, string?>
            {
                ["SLURM_CONF"] = conf,
                ["DEBUGWAND_SIMPLE_UI"] = "1",
                ["RDG_SESSION_DIR"] = Path.Combine(dir, "sessions"),
                ["PYTHONDONTWRITEBYTECODE"] = null,
            };
            var script = Path.Combine(dir, "idle.py");
            var job = Path.Combine(dir, "job.sh");
            await File.WriteAllTextAsync(script, Idle);
            await File.WriteAllTextAsync(job, JobScript);
            File.SetUnixFileMode(job, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            for (var i = -1; i < iterations; i++)
            {
                var warm = i < 0;
                var (jobId, pids) = await SubmitAsync(dir, job, script, env);
                try
                {
                    var host = await CandidateAsync(rdg, jobId, pids[0], env, warm ? null : attach, warm ? null : attachExit, warm ? null : phases);
                    await FloorAsync(jobId, host, env, warm ? null : floor, warm ? null : floorExit, port => ["-c", ByHandFloor.Program, .. ByHandFloor.Arguments(pids[1], host, port, dir, wait: true)]);
                    await FloorAsync(jobId, host, env, warm ? null : debugpy, null, port => ["-c", DebugpyPid, Str(pids[2]), host, Str(port)]);
                }
                finally
                {
                    await RunAsync("scancel", [jobId], env, TimeSpan.FromSeconds(30));
                }
            }
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
        Report.Table(attach, attachExit, floor, floorExit, debugpy);
        var ratio = Report.Ratio(attach, floor);
        Report.Line($"  target: rdg attach within {TargetRatio}x of the floor -> {Report.PassMiss(ratio <= TargetRatio)} ({Report.X(ratio)}; {Report.F(attach.Median - floor.Median)} ms over the floor; " +
                    $"debugpy --pid: {Report.X(attach.Median / debugpy.Median)} of its time). All run one srun step; rdg's also starts rdg on the node.");
        phases.Print("where rdg attach's time goes (from its stderr progress lines, then the DAP client):");
        return ratio;
    }

    private static async Task<(string Job, int[] Pids)> SubmitAsync(string dir, string job, string script, Dictionary<string, string?> env)
    {
        var output = Path.Combine(dir, $"job-{Guid.NewGuid():N}.out");
        var r = await RunAsync("sbatch", ["--parsable", "-n", "1", "-o", output, "-D", dir, job, BenchEnv.HostPython, script], env, TimeSpan.FromSeconds(60));
        if (!r.Ok) throw new InvalidOperationException($"sbatch failed: {r.Stderr}");
        var id = r.Stdout.Trim().Split(';')[0];
        string[] lines = [];
        try
        {
            await Eventually.TrueAsync(async () =>
                (lines = File.Exists(output) ? (await File.ReadAllTextAsync(output)).Split('\n').Where(l => l.StartsWith("ready ", StringComparison.Ordinal)).ToArray() : []).Length == 3,
                TimeSpan.FromSeconds(60), $"job {id} to start its three Pythons", () => File.Exists(output) ? File.ReadAllText(output) : "(no output)");
        }
        catch (TimeoutException)
        {
            await RunAsync("scancel", [id], env, TimeSpan.FromSeconds(30));
            throw;
        }
        return (id, [.. lines.Select(l => int.Parse(l[6..], CultureInfo.InvariantCulture))]);
    }

    /// <summary>Times rdg attach + initialize; returns the address rdg bound (the floor binds the same).</summary>
    private static async Task<string> CandidateAsync(Candidate rdg, string job, int pid, Dictionary<string, string?> env, Samples? into, Samples? untilExit, Phases? phases)
    {
        var port = Adapters.FreePort();
        try
        {
            var clock = Stopwatch.StartNew();
            await using var child = Child.Start(rdg.Program, rdg.Args("attach", job, Str(pid), "--port", Str(port)), clock, env: env);
            var exit = await child.WaitForExitAsync(TimeSpan.FromSeconds(180));
            var exited = clock.Elapsed;
            if (exit != 0) throw new InvalidOperationException($"rdg attach failed (exit {exit}):\n{child.Stdout}\n{child.Stderr}");
            var host = Value(child.Stdout, "Address");
            var printed = int.Parse(Value(child.Stdout, "Port"), CultureInfo.InvariantCulture);
            if (printed != port) throw new InvalidOperationException($"rdg attach printed port {printed}, asked for {port}:\n{child.Stdout}");
            var initialized = await InitializeAsync(host, port, clock);
            into?.Add(initialized);
            untilExit?.Add(exited);
            phases?.Add(child.StderrLines, ("srun step: rdg node activate (start-up, scan, injection) .. rdg exit", exited), ("DAP connect + initialize", initialized));
            return host;
        }
        finally
        {
            Adapters.Kill(port);
        }
    }

    /// <param name="program">The step's Python arguments for a port.</param>
    private static async Task FloorAsync(string job, string host, Dictionary<string, string?> env, Samples? into, Samples? untilExit, Func<int, string[]> program)
    {
        var port = Adapters.FreePort();
        try
        {
            var clock = Stopwatch.StartNew();
            var r = await RunAsync("srun", ["--jobid=" + job, "--overlap", "-w", "localhost", "-N", "1", "-n", "1", "--quiet",
                BenchEnv.HostPython, .. program(port)], env, TimeSpan.FromSeconds(180));
            var exited = clock.Elapsed;
            if (!r.Ok) throw new InvalidOperationException($"the floor's srun step failed (exit {r.ExitCode}):\n{r.Stdout}\n{r.Stderr}");
            var initialized = await InitializeAsync(host, port, clock);
            into?.Add(initialized);
            untilExit?.Add(exited);
        }
        finally
        {
            Adapters.Kill(port);
        }
    }

    /// <summary>Connects once (never a bare probe) and sends <c>initialize</c>; returns the clock's reading at the response.</summary>
    private static async Task<TimeSpan> InitializeAsync(string host, int port, Stopwatch clock)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var client = await DapClient.ConnectAsync(host, port, cts.Token);
        var body = await client.RequestAsync("initialize", new JsonObject
        {
            ["clientID"] = "rdg-bench",
            ["adapterID"] = "debugpy",
            ["pathFormat"] = "path",
            ["linesStartAt1"] = true,
            ["columnsStartAt1"] = true,
        }, cts.Token);
        var at = clock.Elapsed;
        if (body["supportsConfigurationDoneRequest"] is null)
            throw new InvalidOperationException($"unexpected initialize response: {body.ToJsonString(new JsonSerializerOptions { WriteIndented = false })}");
        return at;
    }

    private static async Task<string> EnsureSlurmAsync()
    {
        var script = Path.Combine(BenchEnv.RepoRoot(), "tests/testbed/slurm.sh");
        var r = await RunAsync(script, [], null, TimeSpan.FromMinutes(10));
        if (!r.Ok) throw new InvalidOperationException("tests/testbed/slurm.sh failed: " + r.Stderr);
        return r.Stdout.Trim().Split('\n')[^1].Split('=', 2)[1];
    }

    /// <summary>Runs a program to its end with its output read; <paramref name="env"/> null values remove a variable.</summary>
    private static async Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, IDictionary<string, string?>? env, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                if (v is null) psi.Environment.Remove(k);
                else psi.Environment[k] = v;
            }
        }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0} s");
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    private static string Value(string text, string key) =>
        text.Split('\n').FirstOrDefault(l => l.StartsWith(key + ": ", StringComparison.Ordinal))?[(key.Length + 2)..].Trim()
        ?? throw new InvalidOperationException($"rdg attach printed no '{key}:' line:\n{text}");

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);
}
