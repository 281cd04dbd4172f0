using System.Globalization;
using System.Runtime.InteropServices;
using Wand.Bench;
using Wand.Bench.Harness;

// dotnet run -c Release --project bench/Wand.Bench -- [exec|debug|startup|container|kube|rollout|rdg|proxy|ptrace|stacks|reload|all] [--iterations N] [--wand [LABEL=]PATH/wand.dll ...]
// Exit code: 0 every target met, 3 a target missed, 2 usage, 1 the benchmark itself failed.

const string Usage = "usage: Wand.Bench [exec|debug|startup|container|kube|rollout|rdg|proxy|ptrace|stacks|reload|all] [--iterations N] [--wand [LABEL=]PATH/wand.dll ...]   (see bench/README.md)";

var which = "all";
int? iterations = null;
var wands = new List<Candidate>();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "exec" or "debug" or "startup" or "container" or "kube" or "rollout" or "rdg" or "proxy" or "ptrace" or "stacks" or "reload" or "all":
            which = args[i];
            break;
        case "--iterations" or "-n" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0:
            iterations = n;
            i++;
            break;
        case "--wand" when i + 1 < args.Length:
            wands.Add(Candidate.Parse(args[++i]));
            break;
        case "-h" or "--help":
            Console.WriteLine(Usage);
            return 0;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'\n{Usage}");
            return 2;
    }
}

if (wands.Select(w => w.Label).Distinct().Count() != wands.Count)
{
    Console.Error.WriteLine("two --wand builds have the same label: name them with --wand LABEL=PATH");
    return 2;
}

// Ctrl+C, kill, hang-up: end the targets and adapters this run started, then exit as the signal would.
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);
AppDomain.CurrentDomain.ProcessExit += (_, _) => Cleanup.Run();

var verdicts = new List<Verdict>();
try
{
    Console.WriteLine($"wand benchmarks: {Environment.ProcessorCount} CPUs, .NET {Environment.Version}, {RuntimeInformation.OSDescription}");
    // Every benchmark measures what users install on linux-x64 unless told otherwise: the NativeAOT wand.
    if (which is not ("proxy" or "rdg")) BenchEnv.Candidates = wands.Count > 0 ? wands : [new("wand", BenchEnv.PublishAot("src/Wand.Cli", "wand"))];
    foreach (var c in BenchEnv.Candidates) Console.WriteLine($"candidate {c.Label}: {c}");
    if (which is "exec" or "debug" or "container" or "kube" or "rollout" or "proxy" or "ptrace" or "stacks" or "reload" or "all") BenchEnv.EnsureTestbed();
    if (which is "startup" or "all") verdicts.AddRange(await StartupBench.RunAsync(iterations ?? 20));
    if (which is "exec" or "all") verdicts.AddRange(await ExecBench.RunAsync(iterations ?? 20));
    if (which is "debug" or "all") verdicts.AddRange(await DebugBench.RunAsync(iterations ?? 8));
    if (which is "container" or "all") verdicts.AddRange(await ContainerBench.RunAsync(iterations ?? 6));
    if (which is "kube" or "all") verdicts.AddRange(await KubeBench.RunAsync(iterations ?? 5));
    if (which is "rollout" or "all") verdicts.AddRange(await KubeRolloutBench.RunAsync(iterations ?? 5));
    if (which is "rdg" or "all") verdicts.AddRange(await RdgBench.RunAsync(iterations ?? 6));
    if (which is "proxy" or "all") verdicts.AddRange(await ProxyBench.RunAsync(iterations ?? 240));
    if (which is "ptrace" or "all") verdicts.AddRange(await PtraceBench.RunAsync(iterations ?? 5, iterations ?? 20));
    if (which is "stacks" or "all") verdicts.AddRange(await StacksBench.RunAsync(iterations ?? 20));
    if (which is "reload" or "all") verdicts.AddRange(await ReloadBench.RunAsync(iterations ?? 20));
}
catch (Exception e)
{
    Console.Error.WriteLine($"benchmark failed ({e.GetType().Name}): {e.Message}");
    return 1;
}
finally
{
    Cleanup.Run();
}

Console.WriteLine();
Console.WriteLine("summary: " + string.Join(", ", verdicts.Select(v => $"{v.Benchmark} {(v.Pass is { } p ? Report.PassMiss(p) : "reported")}")));
return verdicts.Any(v => v.Pass == false) ? 3 : 0;

static void OnSignal(PosixSignalContext context)
{
    context.Cancel = true;
    Console.Error.WriteLine($"{context.Signal}: stopping the targets and debugpy adapters this benchmark started");
    Cleanup.Run();
    Environment.Exit(128 + context.Signal switch
    {
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGHUP => 1,
        _ => 15,
    });
}
