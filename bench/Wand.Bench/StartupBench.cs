using System.Diagnostics;
using Wand.Bench.Harness;

namespace Wand.Bench;

/// <summary>
/// <c>wand --help</c> and <c>rdg --help</c> (the NativeAOT rdg, published at the start) wall time against the floor, a bare
/// <c>python3 -I -S -c pass</c> (the testbed's host-runnable Python 3.14: no site, no user paths), interleaved
/// (issue 15: at most 1.5x). An empty framework-dependent .NET program (<c>dotnet bench-noop.dll</c>) is
/// measured in the same run as a diagnostic row: what any <c>dotnet</c>-started tool pays before its first line.
/// </summary>
public static class StartupBench
{
    public const double Target = 1.5;

    public static async Task<IReadOnlyList<Verdict>> RunAsync(int iterations) =>
    [
        .. await MeasureAsync("wand", BenchEnv.Candidates, iterations),
        .. await MeasureAsync("rdg", [new Candidate("rdg", BenchEnv.PublishAot("src/Rdg.Cli", "rdg"))], iterations),
    ];

    private static async Task<IReadOnlyList<Verdict>> MeasureAsync(string tool, IReadOnlyList<Candidate> candidates, int iterations)
    {
        BenchEnv.EnsureBuilt([.. candidates.Select(c => c.Location), BenchEnv.NoopDll, BenchEnv.HostPython]);
        Report.Title($"{tool} startup: `{tool} --help` vs `python3 -I -S -c pass` (N={iterations}, interleaved; target <= {Target}x)");
        var runs = candidates.Select(c => (Tool: c, Wall: new Samples($"{c.Label} --help (candidate)"), Cpu: new Samples($"{c.Label} --help, user+sys CPU"))).ToList();
        string[] python = [BenchEnv.HostPython, "-I", "-S", "-c", "pass"];
        string[] noop = [BenchEnv.Dotnet, BenchEnv.NoopDll];
        var floor = new Samples("python3 -I -S -c pass (floor)");
        var floorCpu = new Samples("python3, user+sys CPU");
        var dotnet = new Samples("empty .NET program (diagnostic)");
        var dotnetCpu = new Samples("empty .NET program, user+sys CPU");

        foreach (var run in runs) await TimeAsync([run.Tool.Program, .. run.Tool.Args("--help")], null, null);
        await TimeAsync(python, null, null);
        await TimeAsync(noop, null, null);
        for (var i = 0; i < iterations; i++)
        {
            foreach (var run in runs) await TimeAsync([run.Tool.Program, .. run.Tool.Args("--help")], run.Wall, run.Cpu);
            await TimeAsync(python, floor, floorCpu);
            await TimeAsync(noop, dotnet, dotnetCpu);
        }

        Report.Table([.. runs.Select(r => r.Wall), floor, dotnet]);
        var verdicts = new List<Verdict>();
        foreach (var run in runs)
        {
            var ratio = Report.Ratio(run.Wall, floor);
            var pass = ratio <= Target;
            Report.Line($"  over the floor: {Report.F(run.Wall.Median - floor.Median)} ms; target <= {Target}x: {Report.PassMiss(pass)}");
            verdicts.Add(new Verdict(runs.Count == 1 ? $"{tool}-startup" : $"{tool}-startup[{run.Tool.Label}]", pass));
        }
        Console.WriteLine();
        Report.Line("CPU time of the child (user+sys, getrusage(RUSAGE_CHILDREN) around each run):");
        Report.Table([.. runs.Select(r => r.Cpu), floorCpu, dotnetCpu]);
        return verdicts;
    }

    private static async Task TimeAsync(string[] argv, Samples? wall, Samples? cpu)
    {
        var cpuBefore = ChildCpu.Total();
        var clock = Stopwatch.StartNew();
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment["DEBUGWAND_SIMPLE_UI"] = "1";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {argv[0]}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        await Task.WhenAll(stdout, stderr);
        var elapsed = clock.Elapsed;
        if (p.ExitCode != 0) throw new InvalidOperationException($"{string.Join(' ', argv)} exited {p.ExitCode}:\n{await stderr}");
        wall?.Add(elapsed);
        cpu?.Add(ChildCpu.Total() - cpuBefore);
    }
}
