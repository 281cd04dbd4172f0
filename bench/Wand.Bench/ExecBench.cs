using System.Diagnostics;
using Wand.Bench.Harness;
using Wand.Injection;
using Wand.Progress;
using Wand.Transport.Local;

namespace Wand.Bench;

/// <summary>
/// <c>wand exec --pid PID -c "print(42)"</c>, end to end (command start until it exited with "42"
/// printed), against the floor: a Python 3.14 process that hands the same code to
/// <c>sys.remote_exec</c> and reads its output file back. Both hit the same long-running chrooted
/// target, whose main thread loops on <c>time.sleep(0.005)</c>, so the safe-point latency is equal.
/// Target from the issue: candidate within 1.5x of the floor.
/// </summary>
public static class ExecBench
{
    public const double TargetRatio = 1.5;
    private const string Code = "print(42)";
    private const double SleepSeconds = 0.005;

    private static readonly string TargetCode =
        "import sys, time\n" +
        "print('ready', flush=True)\n" +
        "while True:\n" +
        $"    time.sleep({SleepSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)})\n";

    /// <summary>
    /// The floor, run by the host copy of the same interpreter with the rootfs as its working directory.
    /// sys.remote_exec checks that the script exists (access(2)) in the caller's own filesystem, and the
    /// target resolves the same string in its root and cwd: the relative path tmp/NAME.py is
    /// ROOTFS/tmp/NAME.py for the caller (cwd ROOTFS) and /tmp/NAME.py for the chrooted target (cwd /).
    /// The injected file runs the code with stdout captured and writes it under a temporary name, then
    /// renames it, so the caller never reads half a file (as wand does).
    /// </summary>
    private const string FloorScript = """
        import os, sys, time
        pid, name, code = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        script, out = "tmp/%s.py" % name, "tmp/%s.out" % name
        with open(script, "w") as f:
            f.write(
                "import io, os, sys\n"
                "_o, sys.stdout = sys.stdout, io.StringIO()\n"
                "try:\n"
                "    exec(compile(%r, '<floor>', 'exec'), {'__name__': '__floor__'})\n"
                "finally:\n"
                "    _b, sys.stdout = sys.stdout, _o\n"
                "with open('/tmp/%s.tmp', 'w') as f:\n"
                "    f.write(_b.getvalue())\n"
                "os.replace('/tmp/%s.tmp', '/tmp/%s.out')\n" % (code, name, name, name))
        sys.remote_exec(pid, script)
        while not os.path.exists(out):
            time.sleep(0.001)
        with open(out) as f:
            sys.stdout.write(f.read())
        os.remove(script)
        os.remove(out)
        """;

    public static async Task<IReadOnlyList<Verdict>> RunAsync(int iterations)
    {
        var candidates = BenchEnv.Candidates;
        BenchEnv.EnsureBuilt([.. candidates.Select(c => c.Location)]);
        Report.Title($"exec: `wand exec --pid PID -c \"{Code}\"` end to end vs sys.remote_exec + output file read back " +
                     $"(N={iterations}, interleaved, target loops on time.sleep({SleepSeconds}))");

        var clock = Stopwatch.StartNew();
        await using var target = BenchEnv.StartTarget(TargetCode, clock);
        await target.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));

        var runs = candidates.Select(c => (Wand: c, Samples: new Samples($"{c.Label} exec (candidate)"), Phases: NewPhases())).ToList();
        var floor = new Samples("sys.remote_exec (floor)");
        var library = new Samples("wand library in-process (diagnostic)");

        // Warm-up: one of each, not recorded (page cache, JIT of the harness, the target's first request).
        foreach (var run in runs) await CandidateAsync(run.Wand, target.Pid, null, null);
        await FloorAsync(target.Pid, 0, null);
        await LibraryAsync(target.Pid, null);

        for (var i = 0; i < iterations; i++)
        {
            foreach (var run in runs) await CandidateAsync(run.Wand, target.Pid, run.Samples, run.Phases);
            await FloorAsync(target.Pid, i + 1, floor);
            await LibraryAsync(target.Pid, library);
        }

        if (target.HasExited) throw new InvalidOperationException($"the exec target exited during the benchmark:\n{target.Stderr}");
        Report.Table([.. runs.Select(r => r.Samples), floor, library]);
        var verdicts = new List<Verdict>();
        foreach (var run in runs)
        {
            var ratio = Report.Ratio(run.Samples, floor);
            var pass = ratio <= TargetRatio;
            Report.Line($"  target: wand exec within {TargetRatio}x of the floor -> {Report.PassMiss(pass)} ({Report.X(ratio)}; " +
                        $"{Report.F(run.Samples.Median - floor.Median)} ms over the floor, budget {Report.F((TargetRatio - 1) * floor.Median)} ms)");
            verdicts.Add(new Verdict(runs.Count == 1 ? "exec" : $"exec[{run.Wand.Label}]", pass));
        }
        foreach (var run in runs)
            run.Phases.Print($"where {run.Wand.Label}'s time goes (from wand's stderr progress lines):");
        Report.Line("(last phase: injection, safe point, payload run, result read back, output printed, process exit)");
        return verdicts;
    }

    private static Phases NewPhases() => new(
        ("start-up + CLI parsing (until 1st progress line)", "reading the interpreter state"),
        ("open target, lock, write request files", "asking PID"));

    private static async Task CandidateAsync(Candidate wand, int pid, Samples? into, Phases? phases)
    {
        var clock = Stopwatch.StartNew();
        await using var child = Child.Start(wand.Program, wand.Args("exec", "--pid", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-c", Code), clock,
            env: new Dictionary<string, string?> { ["DEBUGWAND_SIMPLE_UI"] = "1" });
        var exit = await child.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var elapsed = clock.Elapsed;
        if (exit != 0 || child.Stdout.Trim() != "42")
            throw new InvalidOperationException($"{wand.Label} exec failed (exit {exit}).\nstdout:\n{child.Stdout}\nstderr:\n{child.Stderr}");
        into?.Add(elapsed);
        phases?.Add(child.StderrLines, ("injection .. exit", elapsed));
    }

    private static async Task FloorAsync(int pid, int n, Samples? into)
    {
        var clock = Stopwatch.StartNew();
        await using var python = Child.Start(BenchEnv.HostPython,
            ["-c", FloorScript, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), $"wand-bench-floor-{Environment.ProcessId}-{n}", Code],
            clock, workingDirectory: BenchEnv.Rootfs, env: BenchEnv.PythonEnv());
        var exit = await python.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var elapsed = clock.Elapsed;
        if (exit != 0 || python.Stdout.Trim() != "42")
            throw new InvalidOperationException($"the floor failed (exit {exit}).\nstdout:\n{python.Stdout}\nstderr:\n{python.Stderr}");
        into?.Add(elapsed);
    }

    /// <summary>wand's library called from this (warm) process: what is left without the CLI's process start.</summary>
    private static async Task LibraryAsync(int pid, Samples? into)
    {
        var clock = Stopwatch.StartNew();
        var runner = new CodeRunner(new PayloadRunner(ProcFs.Default, TimeProvider.System, NullProgress.Instance));
        var result = await runner.RunAsync(pid, Code, "<wand exec>", TimeSpan.FromSeconds(5), CancellationToken.None);
        var elapsed = clock.Elapsed;
        if (!result.Ok || result.Stdout.Trim() != "42") throw new InvalidOperationException($"CodeRunner failed: {result.Stdout}{result.Stderr}{result.Traceback}");
        into?.Add(elapsed);
    }
}
