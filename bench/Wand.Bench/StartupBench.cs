using System.Diagnostics;
using Wand.Bench.Harness;

namespace Wand.Bench;

/// <summary>
/// <c>dotnet wand.dll --help</c> wall time against the floor <c>dotnet bench-noop.dll</c> (an empty
/// framework-dependent program built in the same run). No target: reported so that start-up cost,
/// which every wand command pays, is visible.
/// </summary>
public static class StartupBench
{
    public static async Task<IReadOnlyList<Verdict>> RunAsync(int iterations)
    {
        var candidates = BenchEnv.Candidates;
        BenchEnv.EnsureBuilt([.. candidates.Select(c => c.Dll), BenchEnv.NoopDll]);
        Report.Title($"startup: `dotnet wand.dll --help` vs `dotnet bench-noop.dll` (N={iterations}, interleaved)");
        var runs = candidates.Select(c => (Wand: c, Wall: new Samples($"{c.Label} --help (candidate)"), Cpu: new Samples($"{c.Label} --help, user+sys CPU"))).ToList();
        var floor = new Samples("empty .NET program (floor)");
        var floorCpu = new Samples("empty program, user+sys CPU");

        foreach (var run in runs) await TimeAsync([run.Wand.Dll, "--help"], null, null);
        await TimeAsync([BenchEnv.NoopDll], null, null);
        for (var i = 0; i < iterations; i++)
        {
            foreach (var run in runs) await TimeAsync([run.Wand.Dll, "--help"], run.Wall, run.Cpu);
            await TimeAsync([BenchEnv.NoopDll], floor, floorCpu);
        }

        Report.Table([.. runs.Select(r => r.Wall), floor]);
        foreach (var run in runs)
        {
            Report.Ratio(run.Wall, floor);
            Report.Line($"  over the floor: {Report.F(run.Wall.Median - floor.Median)} ms (no target; reported only)");
        }
        Console.WriteLine();
        Report.Line("CPU time of the child (user+sys, getrusage(RUSAGE_CHILDREN) around each run):");
        Report.Table([.. runs.Select(r => r.Cpu), floorCpu]);
        return [.. runs.Select(r => new Verdict(runs.Count == 1 ? "startup" : $"startup[{r.Wand.Label}]", null))];
    }

    private static async Task TimeAsync(string[] args, Samples? wall, Samples? cpu)
    {
        var cpuBefore = ChildCpu.Total();
        var clock = Stopwatch.StartNew();
        var psi = new ProcessStartInfo(BenchEnv.Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DEBUGWAND_SIMPLE_UI"] = "1";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        await Task.WhenAll(stdout, stderr);
        var elapsed = clock.Elapsed;
        if (p.ExitCode != 0) throw new InvalidOperationException($"dotnet {string.Join(' ', args)} exited {p.ExitCode}:\n{await stderr}");
        wall?.Add(elapsed);
        cpu?.Add(ChildCpu.Total() - cpuBefore);
    }
}
