using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Wand.Bench.Harness;
using Wand.Session.Dap;

namespace Wand.Bench;

/// <summary>
/// CPython 3.9-3.13 through ptrace (issue 14), on bookworm's 3.11 (the testbed's rootfs-3.11):
/// <list type="bullet">
/// <item><b>attach</b>: <c>wand debug --pid</c> start until the first DAP <c>initialize</c> is answered, against
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
        Report.Title($"ptrace attach: `wand debug --pid` on Python 3.11 until the first DAP initialize response vs `python3.11 -m debugpy --pid` (gdb) until the same " +
                     $"(N={iterations}, interleaved, a fresh target per run)");
        var runs = candidates.Select(c => (Wand: c, Samples: new Samples($"{c.Label} debug 3.11 (candidate)"))).ToList();
        var floor = new Samples("debugpy --pid, gdb (floor)");
        var lent = new Samples($"{candidates[0].Label} debug 3.11, debugpy lent (diagnostic)");
        foreach (var run in runs) await AttachCandidateAsync(run.Wand, copy, false, null);
        await AttachFloorAsync(copy, null);
        for (var i = 0; i < iterations; i++)
        {
            foreach (var run in runs) await AttachCandidateAsync(run.Wand, copy, false, run.Samples);
            await AttachFloorAsync(copy, floor);
            await AttachCandidateAsync(candidates[0], copy, true, lent);
        }
        Report.Table([.. runs.Select(r => r.Samples), floor, lent]);
        var verdicts = new List<Verdict>();
        foreach (var run in runs)
        {
            var ratio = Report.Ratio(run.Samples, floor);
            var pass = ratio <= AttachTarget;
            Report.Line($"  target: wand debug <= {AttachTarget}x debugpy --pid -> {Report.PassMiss(pass)} ({Report.X(ratio)})");
            verdicts.Add(new Verdict(runs.Count == 1 ? "ptrace-attach" : $"ptrace-attach[{run.Wand.Label}]", pass));
        }
        return verdicts;
    }

    private static async Task AttachCandidateAsync(Candidate wand, string copy, bool lend, Samples? into)
    {
        var port = Adapters.FreePort();
        var lentBefore = LentFolders();
        await using var target = StartTarget311(IdleTarget, lend ? null : copy);
        try
        {
            await target.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));
            var clock = Stopwatch.StartNew();
            await using var child = Child.Start(wand.Program,
                wand.Args(["debug", "--detach", "--pid", Str(target.Pid), "--port", Str(port), .. lend ? new[] { "--debugpy", copy + "/debugpy" } : [], "--output", "json"]), clock,
                env: new Dictionary<string, string?> { ["DEBUGWAND_SIMPLE_UI"] = "1" });
            var exit = await child.WaitForExitAsync(TimeSpan.FromSeconds(120));
            if (exit != 0) throw new InvalidOperationException($"{wand.Label} debug failed (exit {exit}).\nstdout:\n{child.Stdout}\nstderr:\n{child.Stderr}");
            into?.Add(await InitializeAsync(port, clock));
        }
        finally
        {
            await target.DisposeAsync();
            Adapters.Kill(port);
            // --detach leaves debugpy (and a lent copy) in the target until --stop; the target is gone now.
            foreach (var folder in LentFolders().Except(lentBefore)) Directory.Delete(folder, recursive: true);
        }
    }

    private static HashSet<string> LentFolders() => [.. Directory.GetDirectories(Rootfs311 + "/tmp", "wand-lent-*")];

    private static async Task AttachFloorAsync(string copy, Samples? into)
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
            if (exit != 0) throw new InvalidOperationException($"debugpy --pid failed (exit {exit}).\nstdout:\n{cli.Stdout}\nstderr:\n{cli.Stderr}");
            // The CLI returns once gdb has run attach.so's DoAttach; the adapter that the target starts
            // may listen a moment later. /proc/net/tcp is read, never a probe connection.
            var deadline = clock.Elapsed + TimeSpan.FromSeconds(60);
            while (!Listening(port))
            {
                if (clock.Elapsed > deadline) throw new InvalidOperationException($"debugpy --pid: nothing listens on port {port} 60 s later.\nstdout:\n{cli.Stdout}\nstderr:\n{cli.Stderr}");
                await Task.Delay(1);
            }
            into?.Add(await InitializeAsync(port, clock));
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

    /// <summary>Connects once (never a bare probe) and sends <c>initialize</c>; the clock's reading at the response.</summary>
    private static async Task<TimeSpan> InitializeAsync(int port, Stopwatch clock)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var client = await DapClient.ConnectAsync("127.0.0.1", port, cts.Token);
        var body = await client.RequestAsync("initialize", new JsonObject
        {
            ["clientID"] = "wand-bench",
            ["adapterID"] = "debugpy",
            ["pathFormat"] = "path",
            ["linesStartAt1"] = true,
            ["columnsStartAt1"] = true,
        }, cts.Token);
        var at = clock.Elapsed;
        if (body["supportsConfigurationDoneRequest"] is null) throw new InvalidOperationException($"unexpected initialize response: {body.ToJsonString()}");
        return at;
    }

    /// <summary>Whether a socket listens on 127.0.0.1:<paramref name="port"/> (state 0A in /proc/net/tcp).</summary>
    private static bool Listening(int port)
    {
        var local = "0100007F:" + port.ToString("X4", CultureInfo.InvariantCulture);
        return File.ReadLines("/proc/net/tcp").Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(f => f.Length > 3 && f[1] == local && f[3] == "0A");
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
