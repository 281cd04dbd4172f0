using System.Diagnostics;
using System.Globalization;
using Wand.Bench.Harness;
using Wand.Injection;
using Wand.Transport.Local;
using static Wand.Bench.Harness.Editor;

namespace Wand.Bench;

/// <summary>
/// CPython 3.9-3.13 through ptrace (issue 14), on bookworm's 3.11 (the testbed's rootfs-3.11):
/// <list type="bullet">
/// <item><b>attach</b>: <c>wand debug --pid</c> (the session: what a user runs to let an editor in) and
/// <c>wand debug --detach</c>, each from its start until the first DAP <c>initialize</c> is answered, against
/// <c>python3.11 -m debugpy --listen 127.0.0.1:P --pid PID</c> (debugpy drives gdb) start until the same
/// answer; target: at most 0.3x.</item>
/// <item><b>exec</b>: <c>wand exec --pid</c> on 3.11 (ptrace, Py_AddPendingCall) against the same on 3.14
/// (PEP 768); target: within 1.5x.</item>
/// </list>
/// </summary>
/// <remarks>
/// debugpy's --pid makes gdb dlopen its attach.so in the target and the target import debugpy, both by
/// paths of the debugpy that runs the CLI: the testbed's debugpy 1.8.20 is copied to the same path on
/// this machine and in rootfs-3.11 (/tmp/bench-debugpy-PID), and the CLI runs under this machine's
/// /usr/bin/python3.11, the same bookworm build as the target's, with gdb from here. The targets have
/// that copy on their sys.path (PYTHONPATH), as an app with debugpy installed would: both tools use it,
/// with the bytecode the warm-up runs compiled. A diagnostic row has wand lend it instead (--debugpy:
/// a fresh copy per attach, compiled from source in the target), wand's zero-preparation case.
/// </remarks>
public static class PtraceBench
{
    public const double AttachTarget = 0.3;
    public const double ExecTarget = 1.5;

    private const string IdleTarget = "import time\nprint('ready', flush=True)\nwhile True:\n    time.sleep(0.01)\n";
    private const string ExecTargetCode = "import time\nprint('ready', flush=True)\nwhile True:\n    time.sleep(0.005)\n";

    private static string Rootfs311 => BenchEnv.Rootfs + "-3.11";
    private const string HostPython311 = "/usr/bin/python3.11";

    public static async Task<IReadOnlyList<Verdict>> RunAsync(int attachIterations, int execIterations)
    {
        var candidates = BenchEnv.Candidates;
        BenchEnv.EnsureBuilt([.. candidates.Select(c => c.Location)]);
        foreach (var required in new[] { Rootfs311 + "/usr/bin/python3.11", HostPython311, "/usr/bin/gdb" })
            if (!File.Exists(required))
                throw new InvalidOperationException($"{required} is missing: run tests/testbed/oldpythons.sh as root; the floor needs gdb and python3.11 on this machine");
        var versions = (Here: PythonVersionOf(HostPython311), Target: File.ReadAllText(Rootfs311 + "/.version").Trim());
        Console.WriteLine($"ptrace: target python {versions.Target} (rootfs-3.11), debugpy's CLI under python {versions.Here} ({HostPython311}), gdb /usr/bin/gdb");

        var copy = $"/tmp/bench-debugpy-{Environment.ProcessId}";
        try
        {
            foreach (var root in new[] { "", Rootfs311 })
                CopyTree(Path.Combine(BenchEnv.Rootfs, "usr/lib/python3/dist-packages/debugpy"), root + copy + "/debugpy");
            var verdicts = new List<Verdict>();
            verdicts.AddRange(await AttachAsync(candidates, copy, attachIterations));
            verdicts.AddRange(await ExecAsync(candidates, execIterations));
            return verdicts;
        }
        finally
        {
            foreach (var root in new[] { "", Rootfs311 })
                if (Directory.Exists(root + copy)) Directory.Delete(root + copy, recursive: true);
        }
    }

    private static async Task<IReadOnlyList<Verdict>> AttachAsync(IReadOnlyList<Candidate> candidates, string copy, int iterations)
    {
        Report.Title($"ptrace attach: `wand debug --pid` (the session) and `wand debug --detach` on Python 3.11 until the first DAP initialize response vs " +
                     $"`python3.11 -m debugpy --pid` (gdb) until the same (N={iterations}, interleaved, a fresh target per run)");
        var runs = candidates.Select(c => (Wand: c,
            Session: new Samples($"{c.Label} debug --pid (session)"), SessionPhases: WandPhases(),
            Detach: new Samples($"{c.Label} debug --detach"), DetachPhases: WandPhases())).ToList();
        var floor = new Samples("debugpy --pid, gdb (floor)");
        var floorPhases = new Phases();
        var lent = new Samples($"{candidates[0].Label} debug --detach, debugpy lent (diagnostic)");
        var queue = new Samples("ptrace queue + safe point, wand's library in-process (diagnostic)");
        var import = new Samples("import debugpy in the 3.11 target (diagnostic)");
        var listenAdapter = new Samples("debugpy.listen(), with its adapter process (diagnostic)");
        var listenInProcess = new Samples("debugpy.listen(in_process_debug_adapter=True) (diagnostic)");
        for (var i = -1; i < iterations; i++) // -1: one unrecorded warm-up of each (it also compiles the copy's bytecode)
        {
            var record = i >= 0;
            foreach (var run in runs)
            {
                await AttachCandidateAsync(run.Wand, copy, detach: false, lend: false, record ? run.Session : null, record ? run.SessionPhases : null);
                await AttachCandidateAsync(run.Wand, copy, detach: true, lend: false, record ? run.Detach : null, record ? run.DetachPhases : null);
            }
            await AttachFloorAsync(copy, record ? floor : null, record ? floorPhases : null);
            if (record) await AttachCandidateAsync(candidates[0], copy, detach: true, lend: true, lent, null);
            await QueueInProcessAsync(record ? queue : null);
            await ImportAndListenAsync(copy, adapter: true, record ? import : null, record ? listenAdapter : null);
            await ImportAndListenAsync(copy, adapter: false, record ? import : null, record ? listenInProcess : null);
        }
        Report.Table([.. runs.SelectMany(r => new[] { r.Session, r.Detach }), floor, lent, queue, import, listenAdapter, listenInProcess]);
        var verdicts = new List<Verdict>();
        foreach (var run in runs)
        {
            // The session is what a user runs to let an editor in (wand's own port, reloads followed); --detach is the fire-and-forget form.
            foreach (var (samples, name) in new[] { (run.Session, "session"), (run.Detach, "--detach") })
            {
                var ratio = Report.Ratio(samples, floor);
                var pass = ratio <= AttachTarget;
                Report.Line($"  target: wand debug ({name}) <= {AttachTarget}x debugpy --pid ({Report.F(AttachTarget * floor.Median)} ms) -> {Report.PassMiss(pass)} ({Report.X(ratio)})");
                verdicts.Add(new Verdict(runs.Count == 1 ? $"ptrace-attach {name}" : $"ptrace-attach {name}[{run.Wand.Label}]", pass));
            }
        }
        floorPhases.Print("debugpy --pid's phases:");
        foreach (var run in runs)
        {
            run.SessionPhases.Print($"where {run.Wand.Label} debug --pid (session)'s time goes (wand's stderr progress lines, then the DAP client):");
            run.DetachPhases.Print($"where {run.Wand.Label} debug --detach's time goes (wand's stderr progress lines, then the DAP client):");
        }
        return verdicts;
    }

    private static Phases WandPhases() => new(
        ("wand start-up + CLI parsing (until 1st progress line)", "looking for Python processes"),
        ("process scan", "reading the interpreter state"),
        ("read interpreter state, open target, lock, request files", "asking PID"),
        ("ptrace injection + safe point + debugpy import + listen (until ready)", " is ready"),
        ("until wand reports debugpy listening", "is listening in PID"));

    /// <summary>
    /// <c>wand debug --detach</c>: <c>initialize</c> sent once wand has exited (it exits when debugpy listens).
    /// <c>wand debug</c> (the session): the editor connects to wand's port as soon as it listens (F5 at once;
    /// its initialize is held until the process is ready).
    /// </summary>
    private static async Task AttachCandidateAsync(Candidate wand, string copy, bool detach, bool lend, Samples? into, Phases? phases)
    {
        var port = Adapters.FreePort();
        var lentBefore = LentFolders();
        await using var target = StartTarget311(IdleTarget, lend ? null : copy);
        try
        {
            await target.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));
            var clock = Stopwatch.StartNew();
            string[] args = [.. detach ? ["debug", "--detach"] : new[] { "debug" }, "--pid", Str(target.Pid), "--port", Str(port),
                .. lend ? new[] { "--debugpy", copy + "/debugpy" } : [], .. detach ? ["--output", "json"] : new[] { "--yes" }];
            await using var child = Child.Start(wand.Program, wand.Args(args), clock, env: new Dictionary<string, string?> { ["DEBUGWAND_SIMPLE_UI"] = "1" });
            var steps = new List<(string, TimeSpan)>();
            if (detach)
            {
                var exit = await child.WaitForExitAsync(TimeSpan.FromSeconds(120));
                steps.Add(("wand exit", clock.Elapsed));
                if (exit != 0) throw new InvalidOperationException($"{wand.Label} debug --detach failed (exit {exit}).\nstdout:\n{child.Stdout}\nstderr:\n{child.Stderr}");
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
            // --detach leaves debugpy (and a lent copy) in the target until --stop; the target is gone now.
            foreach (var folder in LentFolders().Except(lentBefore)) Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// The ptrace part alone: <see cref="PendingCallTarget"/> (seize, mmap, Py_AddPendingCall, registers back,
    /// detach) until the bootstrap has claimed its script at the main thread's next safe point, called from
    /// this (warm) process on a fresh idle 3.11: no process start, no debugpy.
    /// </summary>
    private static async Task QueueInProcessAsync(Samples? into)
    {
        // Python must not be this process's child: .NET waits for its children with waitpid, which would
        // also take the ptrace-stop notifications meant for the tracer. A shell starts it and says its PID.
        await using var shell = Child.Start("/bin/sh", ["-c", "chroot \"$1\" /usr/bin/python3.11 -c \"$2\" & echo pid $!; wait", "sh", Rootfs311, IdleTarget],
            Stopwatch.StartNew(), env: BenchEnv.PythonEnv());
        await shell.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));
        var pid = int.Parse(shell.Stdout.Split('\n').First(l => l.StartsWith("pid ", StringComparison.Ordinal))[4..], CultureInfo.InvariantCulture);
        using var dir = TargetWorkDir.Create(pid, ProcFs.Default);
        dir.WriteFile("run.py", "pass\n");
        var clock = Stopwatch.StartNew();
        using (var injector = ScriptInjectors.Open(pid, ProcFs.Default, TimeProvider.System))
            await injector.InjectAsync(dir, "run.py", TimeSpan.FromSeconds(10), CancellationToken.None);
        into?.Add(clock.Elapsed);
    }

    /// <summary>
    /// What every injector's bootstrap pays in the target after the injection, measured by a fresh 3.11 itself
    /// (time.perf_counter around each step): <c>import debugpy</c> (the copy, bytecode compiled), then
    /// <c>debugpy.listen()</c> with debugpy's adapter process (as the session's debugpy listens) or in-process
    /// (as <c>--detach</c>'s).
    /// </summary>
    private static async Task ImportAndListenAsync(string copy, bool adapter, Samples? import, Samples? listen)
    {
        var port = Adapters.FreePort();
        var code = "import time\nt0 = time.perf_counter()\nimport debugpy\nt1 = time.perf_counter()\n" +
                   $"debugpy.listen(('127.0.0.1', {Str(port)}){(adapter ? "" : ", in_process_debug_adapter=True")})\nt2 = time.perf_counter()\n" +
                   "print('timing %f %f' % (t1 - t0, t2 - t1), flush=True)\nwhile True:\n    time.sleep(0.01)\n";
        await using var target = StartTarget311(code, copy);
        try
        {
            await target.WaitForStdoutAsync("timing", TimeSpan.FromSeconds(60));
            var fields = target.Stdout.Split('\n').First(l => l.StartsWith("timing ", StringComparison.Ordinal)).Split(' ');
            import?.Add(TimeSpan.FromSeconds(double.Parse(fields[1], CultureInfo.InvariantCulture)));
            listen?.Add(TimeSpan.FromSeconds(double.Parse(fields[2], CultureInfo.InvariantCulture)));
        }
        finally
        {
            await target.DisposeAsync();
            Adapters.Kill(port);
        }
    }

    private static HashSet<string> LentFolders() => [.. Directory.GetDirectories(Rootfs311 + "/tmp", "wand-lent-*")];

    private static async Task AttachFloorAsync(string copy, Samples? into, Phases? phases)
    {
        var port = Adapters.FreePort();
        await using var target = StartTarget311(IdleTarget, copy);
        try
        {
            await target.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));
            var clock = Stopwatch.StartNew();
            var env = BenchEnv.PythonEnv();
            env["PYTHONPATH"] = copy;
            await using var cli = Child.Start(HostPython311, ["-m", "debugpy", "--listen", $"127.0.0.1:{Str(port)}", "--pid", Str(target.Pid)], clock, env: env);
            var exit = await cli.WaitForExitAsync(TimeSpan.FromSeconds(120));
            var returned = clock.Elapsed;
            if (exit != 0) throw new InvalidOperationException($"debugpy --pid failed (exit {exit}).\nstdout:\n{cli.Stdout}\nstderr:\n{cli.Stderr}");
            // The CLI returns once gdb has run attach.so's DoAttach; the adapter that the target starts
            // may listen a moment later.
            var listening = await ListeningAsync(port, clock, TimeSpan.FromSeconds(60));
            var (connected, initialized) = await InitializeAsync(port, clock);
            into?.Add(initialized);
            phases?.Add([], ("debugpy's CLI exited (gdb attached, DoAttach ran)", returned), ("port listening (debugpy import + listen)", listening),
                ("DAP connect", connected), ("DAP initialize response", initialized));
        }
        finally
        {
            await target.DisposeAsync();
            Adapters.Kill(port);
        }
    }

    private static async Task<IReadOnlyList<Verdict>> ExecAsync(IReadOnlyList<Candidate> candidates, int iterations)
    {
        Report.Title($"ptrace exec: `wand exec --pid PID -c \"print(42)\"` on Python 3.11 (ptrace) vs the same on 3.14 (PEP 768) " +
                     $"(N={iterations}, interleaved, both targets loop on time.sleep(0.005))");
        var clock = Stopwatch.StartNew();
        await using var old = StartTarget311(ExecTargetCode, null);
        await using var pep768 = BenchEnv.StartTarget(ExecTargetCode, clock);
        await old.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));
        await pep768.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));
        var verdicts = new List<Verdict>();
        foreach (var wand in candidates)
        {
            var on311 = new Samples($"{wand.Label} exec 3.11 (candidate)");
            var on314 = new Samples($"{wand.Label} exec 3.14 (floor)");
            await ExecOnceAsync(wand, old.Pid, null);
            await ExecOnceAsync(wand, pep768.Pid, null);
            for (var i = 0; i < iterations; i++)
            {
                await ExecOnceAsync(wand, old.Pid, on311);
                await ExecOnceAsync(wand, pep768.Pid, on314);
            }
            Report.Table(on311, on314);
            var ratio = Report.Ratio(on311, on314);
            var pass = ratio <= ExecTarget;
            Report.Line($"  target: wand exec on 3.11 within {ExecTarget}x of 3.14 -> {Report.PassMiss(pass)} ({Report.X(ratio)}; {Report.F(on311.Median - on314.Median)} ms apart)");
            verdicts.Add(new Verdict(candidates.Count == 1 ? "ptrace-exec" : $"ptrace-exec[{wand.Label}]", pass));
        }
        return verdicts;
    }

    private static async Task ExecOnceAsync(Candidate wand, int pid, Samples? into)
    {
        var clock = Stopwatch.StartNew();
        await using var child = Child.Start(wand.Program, wand.Args("exec", "--pid", Str(pid), "-c", "print(42)"), clock,
            env: new Dictionary<string, string?> { ["DEBUGWAND_SIMPLE_UI"] = "1" });
        var exit = await child.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var elapsed = clock.Elapsed;
        if (exit != 0 || child.Stdout.Trim() != "42")
            throw new InvalidOperationException($"{wand.Label} exec failed (exit {exit}).\nstdout:\n{child.Stdout}\nstderr:\n{child.Stderr}");
        into?.Add(elapsed);
    }

    /// <summary><c>chroot ROOTFS-3.11 /usr/bin/python3.11 -c CODE</c> (chroot execs it: the child's PID is Python's), with <paramref name="path"/> on its sys.path.</summary>
    private static Child StartTarget311(string code, string? path)
    {
        var env = BenchEnv.PythonEnv();
        if (path is not null) env["PYTHONPATH"] = path;
        return Child.Start("chroot", [Rootfs311, "/usr/bin/python3.11", "-c", code], Stopwatch.StartNew(), env: env);
    }

    private static string PythonVersionOf(string python)
    {
        using var p = Process.Start(new ProcessStartInfo(python, ["-c", "import platform; print(platform.python_version())"]) { RedirectStandardOutput = true })!;
        var version = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return version;
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.EnumerateDirectories(from))
            if (Path.GetFileName(dir) != "__pycache__") CopyTree(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);
}
