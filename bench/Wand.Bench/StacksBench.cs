using System.Diagnostics;
using Wand.Bench.Harness;
using Wand.Stacks;
using Wand.Transport.Local;

namespace Wand.Bench;

/// <summary>
/// <c>wand stacks --pid PID</c> on a Python process with 50 threads (49 waiting on an Event, the main
/// thread sleeping), end to end, against the same-run floor of what any reader of another process
/// must do at least: read /proc/PID/maps and one process_vm_readv (in-process). Reported beside them:
/// the library's capture in-process (what wand adds beyond the floor without start-up) and an empty
/// framework-dependent .NET program (the start-up the NativeAOT build does not pay). The candidate is the
/// NativeAOT wand users install on linux-x64 (Program.cs publishes it into artifacts/aot); the target
/// (issue 18) is a median under 50 ms end to end.
/// </summary>
public static class StacksBench
{
    private const int Threads = 50;
    private const double TargetMs = 50;

    private const string TargetCode = """
        import threading, time
        done = threading.Event()
        for i in range(49):
            threading.Thread(target=done.wait, name="worker-%d" % i, daemon=True).start()
        print("ready", flush=True)
        while True:
            time.sleep(1)
        """;

    public static async Task<IReadOnlyList<Verdict>> RunAsync(int iterations)
    {
        var candidates = BenchEnv.Candidates;
        BenchEnv.EnsureBuilt([.. candidates.Select(c => c.Location), BenchEnv.NoopDll]);
        Report.Title($"stacks: `wand stacks --pid PID` on a {Threads}-thread Python vs /proc/PID/maps + one process_vm_readv (N={iterations}, interleaved)");
        var clock = Stopwatch.StartNew();
        await using var target = BenchEnv.StartTarget(TargetCode, clock);
        await target.WaitForStdoutAsync("ready", TimeSpan.FromSeconds(30));

        var runs = candidates.Select(c => (Wand: c, Samples: new Samples($"{c.Label} stacks, end to end (candidate)"))).ToList();
        var floor = new Samples("maps + one process_vm_readv, in-process (floor)");
        var library = new Samples("StackCapture.Capture in-process (diagnostic)");
        var startup = new Samples("empty framework-dependent .NET program (start-up, diagnostic)");

        foreach (var run in runs) await CliAsync(run.Wand, ["stacks", "--pid", target.Pid.ToString()], null);
        Floor(target.Pid, null);
        Library(target.Pid, null);
        for (var i = 0; i < iterations; i++)
        {
            foreach (var run in runs) await CliAsync(run.Wand, ["stacks", "--pid", target.Pid.ToString()], run.Samples);
            Floor(target.Pid, floor);
            Library(target.Pid, library);
            await CliAsync(new Candidate("noop", BenchEnv.NoopDll), [], startup);
        }
        if (target.HasExited) throw new InvalidOperationException($"the stacks target exited during the benchmark:\n{target.Stderr}");

        Report.Table([.. runs.Select(r => r.Samples), floor, library, startup]);
        foreach (var run in runs)
        {
            Report.Ratio(run.Samples, floor);
            Report.Line($"  in-process capture {Report.F(library.Median)} ms ({Report.X(library.Median / floor.Median)} the floor); " +
                        $"target: median under {TargetMs:0} ms end to end: {Report.PassMiss(run.Samples.Median < TargetMs)}");
        }
        return [.. runs.Select(r => new Verdict(runs.Count == 1 ? "stacks" : $"stacks[{r.Wand.Label}]", r.Samples.Median < TargetMs))];
    }

    private static void Floor(int pid, Samples? samples)
    {
        var clock = Stopwatch.StartNew();
        var maps = ProcMapsEntry.ParseAll(File.ReadAllText($"/proc/{pid}/maps"));
        using var memory = ProcessMemory.Open(pid);
        var buffer = new byte[4096];
        memory.Read(maps.First(m => m.Perms.StartsWith('r')).Start, buffer);
        samples?.Add(clock.Elapsed);
    }

    private static void Library(int pid, Samples? samples)
    {
        var clock = Stopwatch.StartNew();
        var stacks = StackCapture.Capture(pid, withLocals: false);
        samples?.Add(clock.Elapsed);
        if (stacks.Threads.Count(t => t.Python is not null) != Threads)
            throw new InvalidOperationException($"expected {Threads} Python threads, read {stacks.Threads.Count(t => t.Python is not null)}");
    }

    private static async Task CliAsync(Candidate wand, string[] args, Samples? samples)
    {
        var clock = Stopwatch.StartNew();
        var psi = new ProcessStartInfo(wand.Program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in wand.Args(args)) psi.ArgumentList.Add(a);
        psi.Environment["DEBUGWAND_SIMPLE_UI"] = "1";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {wand}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        await Task.WhenAll(stdout, stderr);
        var elapsed = clock.Elapsed;
        if (p.ExitCode != 0) throw new InvalidOperationException($"{wand} {string.Join(' ', args)} exited {p.ExitCode}:\n{await stderr}");
        samples?.Add(elapsed);
    }
}
