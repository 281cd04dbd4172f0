using System.Diagnostics;
using System.Globalization;
using Wand.Bench.Harness;
using Wand.Testing;
using Wand.Transport;

namespace Wand.Bench;

/// <summary>
/// Attach time into a podman container (its own network namespace), for both routes: from the start
/// of <c>wand debug --container NAME --route host|exec</c> until its "attached" event (printed once
/// debugpy.listen() returned in the container and the local forward is up). Floor, same run: the
/// same steps done by hand, one <c>podman exec</c> whose Python writes a bootstrap that starts debugpy
/// in a thread, hands it to <c>sys.remote_exec</c> and polls the container's socket table until the
/// port listens. A fresh container per run (debugpy listens once per process). Target (issue 15): each
/// route within 1.3x of the floor. Also timed, as a yardstick: <c>python3.14 -m debugpy --listen --pid 1</c>
/// in one <c>podman exec</c>, until its port listens.
/// </summary>
public static class ContainerBench
{
    public const double TargetRatio = 1.3;

    /// <summary>debugpy's own attach by PID inside the container (argv: PORT), then the same wait for the port as the floor's.</summary>
    private const string DebugpyPid = """
        import subprocess, sys, time
        port = int(sys.argv[1])
        subprocess.run([sys.executable, "-m", "debugpy", "--listen", "127.0.0.1:%d" % port, "--pid", "1"], check=True)
        want = ":%04X " % port
        while not any(want in line and line.split()[3] == "0A" for line in open("/proc/net/tcp").read().splitlines()[1:]):
            time.sleep(0.002)
        """;

    public static async Task<IReadOnlyList<Verdict>> RunAsync(int iterations)
    {
        BenchEnv.EnsureBuilt(BenchEnv.Candidates[0].Location);
        var conf = EnsurePodman();
        Report.Title($"container: `wand debug --container` until attached (host and exec routes) vs one `podman exec` calling sys.remote_exec until the port listens (N={iterations}, a fresh container per run)");
        var host = new Samples("wand debug --container --route host");
        var exec = new Samples("wand debug --container --route exec");
        var floor = new Samples("podman exec + sys.remote_exec (floor)");
        var debugpy = new Samples("podman exec + python3.14 -m debugpy --pid 1");
        for (var i = -1; i < iterations; i++)
        {
            var warm = i < 0;
            await WandAsync("host", warm ? null : host, conf);
            await WandAsync("exec", warm ? null : exec, conf);
            await FloorAsync(warm ? null : floor, conf, ["-c", ByHandFloor.Program]);
            await FloorAsync(warm ? null : debugpy, conf, ["-c", DebugpyPid]);
        }
        Report.Table(host, exec, floor, debugpy);
        var verdicts = new List<Verdict>();
        foreach (var (route, samples) in new[] { ("host", host), ("exec", exec) })
        {
            var ratio = Report.Ratio(samples, floor);
            Report.Line($"  target: --route {route} within {TargetRatio}x of the floor -> {Report.PassMiss(ratio <= TargetRatio)} ({Report.X(ratio)}; " +
                        $"{Report.F(samples.Median - floor.Median)} ms over the floor; debugpy --pid: {Report.X(samples.Median / debugpy.Median)} of its time)");
            verdicts.Add(new Verdict($"container[{route}]", ratio <= TargetRatio));
        }
        return verdicts;
    }

    private static async Task WandAsync(string route, Samples? into, string conf)
    {
        var name = await StartContainerAsync(conf);
        var port = Adapters.FreePort();
        try
        {
            var clock = Stopwatch.StartNew();
            await using var wand = Child.Start(BenchEnv.Candidates[0].Program,
                BenchEnv.Candidates[0].Args("debug", "--container", name, "--route", route, "--yes", "--port", Str(port), "--output", "json"), clock,
                env: new Dictionary<string, string?> { ["DEBUGWAND_SIMPLE_UI"] = "1", ["CONTAINERS_CONF"] = conf });
            var attached = await wand.WaitForStdoutAsync("\"event\":\"attached\"", TimeSpan.FromSeconds(120));
            into?.Add(attached);
        }
        finally
        {
            await RemoveAsync(name, conf);
        }
    }

    /// <param name="program">What the container's python3.14 runs: <c>-c PROGRAM</c>, followed by the floor's arguments (or the port).</param>
    private static async Task FloorAsync(Samples? into, string conf, string[] program)
    {
        var name = await StartContainerAsync(conf);
        var port = Adapters.FreePort();
        try
        {
            var clock = Stopwatch.StartNew();
            var r = await ProcessRunner.RunAsync("podman", ["exec", "-i", name, "/usr/bin/python3.14", .. program,
                .. program[1] == ByHandFloor.Program ? ByHandFloor.Arguments(1, "127.0.0.1", port, "/tmp", wait: true) : [Str(port)]], null, TimeSpan.FromSeconds(120), CancellationToken.None);
            var elapsed = clock.Elapsed;
            if (!r.Ok) throw new InvalidOperationException($"floor failed: {r.Stderr}");
            into?.Add(elapsed);
        }
        finally
        {
            await RemoveAsync(name, conf);
        }
    }

    private static async Task<string> StartContainerAsync(string conf)
    {
        var name = "wand-bench-" + Guid.NewGuid().ToString("N")[..10];
        Environment.SetEnvironmentVariable("CONTAINERS_CONF", conf);
        var r = await ProcessRunner.RunAsync("podman", ["run", "-d", "--name", name, "--rootfs", BenchEnv.Rootfs + ":O", "/usr/bin/python3.14", "-c", ByHandFloor.IdleApp],
            null, TimeSpan.FromSeconds(60), CancellationToken.None);
        if (!r.Ok) throw new InvalidOperationException($"podman run failed: {r.Stderr}");
        // ready when its main loop runs: PID 1 printed "ready"
        await Eventually.TrueAsync(async () => (await ProcessRunner.RunAsync("podman", ["logs", name], null, TimeSpan.FromSeconds(10), CancellationToken.None)).Stdout.Contains("ready", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), $"benchmark container {name} to print ready");
        return name;
    }

    private static Task RemoveAsync(string name, string conf) =>
        ProcessRunner.RunAsync("podman", ["rm", "-f", "-t", "0", name], null, TimeSpan.FromSeconds(60), CancellationToken.None);

    private static string EnsurePodman()
    {
        var script = Path.Combine(BenchEnv.RepoRoot(), "tests/testbed/podman.sh");
        var r = ProcessRunner.RunAsync(script, [], null, TimeSpan.FromMinutes(5), CancellationToken.None).GetAwaiter().GetResult();
        if (!r.Ok) throw new InvalidOperationException("tests/testbed/podman.sh failed: " + r.Stderr);
        return r.Stdout.Trim();
    }

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);
}
