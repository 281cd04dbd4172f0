using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wand.Bench.Harness;
using Wand.Session.Dap;
using Wand.Testing;
using Wand.Testing.KubeApi;
using Wand.Transport;

namespace Wand.Bench;

/// <summary>
/// Pods, through the machine's real kubectl on the test Kubernetes API server (tests/Wand.Testing.KubeApi:
/// Kubernetes JSON, every container a real podman container). Two measurements:
/// <list type="number">
/// <item>Attach: from the start of <c>wand debug -n NS -s SVC</c> until a DAP <c>initialize</c>
/// response through wand's local port (kubectl port-forward behind it). Floor, same run, a fresh pod
/// each: the steps by hand, one <c>kubectl exec -i</c> whose Python hands a debugpy-listen script to
/// <c>sys.remote_exec</c>, a <c>kubectl port-forward</c> started at the same moment, then DAP
/// <c>initialize</c> through the forward until it is answered. Target: within 1.5x of the floor.</item>
/// <item>Reload: a uvicorn <c>--reload</c> pod whose file is touched; from the new worker's start (its
/// /proc start time) until wand's "reattached" event (debugpy listening in it). Target: 0.5 s.</item>
/// </list>
/// </summary>
public static class KubeBench
{
    internal const string Namespace = "wand-bench";
    internal const string AppDir = "/srv/apps/fastapi_app";
    private static KubeApiServer? s_server;

    public static async Task<IReadOnlyList<Verdict>> RunAsync(int iterations)
    {
        BenchEnv.EnsureBuilt(BenchEnv.Candidates[0].Location);
        var state = Prepare();
        try
        {
            Report.Title($"kube attach: `wand debug -s SVC` until DAP initialize is answered through its port vs kubectl exec + sys.remote_exec + kubectl port-forward (N={iterations}, a fresh pod per run)");
            var wand = new Samples("wand debug -s SVC");
            var floor = new Samples("kubectl exec + port-forward (floor)");
            for (var i = -1; i < iterations; i++)
            {
                var warm = i < 0;
                await WandAttachAsync(state, warm ? null : wand);
                await FloorAsync(state, warm ? null : floor);
            }
            Report.Table(wand, floor);
            var ratio = Report.Ratio(wand, floor);
            var attachPass = ratio <= 1.5;
            Report.Line($"ratio wand/floor: {Report.X(ratio)} (target 1.50x: {Report.PassMiss(attachPass)})");

            Report.Title($"kube reload: uvicorn --reload pod, file touched; new worker's start until wand's reattached event (N={iterations})");
            var (noticed, accepted, ready) = await ReloadAsync(state, iterations);
            Report.Table(noticed, accepted, ready);
            Report.Line($"after the worker's own imports, debugpy's import and listen() take {Report.Ms(ready.Median - accepted.Median).Trim()} (medians)");
            var reloadPass = ready.Median <= 500;
            Report.Line($"median worker start to ready: {Report.Ms(ready.Median).Trim()} (target 500 ms: {Report.PassMiss(reloadPass)})");
            return [new Verdict("kube attach", attachPass), new Verdict("kube reload", reloadPass)];
        }
        finally
        {
            foreach (var pod in Directory.EnumerateFiles(Path.Combine(state, Namespace, "pods")))
                if (JsonNode.Parse(File.ReadAllText(pod))?["metadata"]?["annotations"]?[KubeApiServer.ContainerAnnotation + "app"]?.GetValue<string>() is { } container)
                    await RemoveAsync(container);
            await StopAsync(state);
        }
    }

    private static async Task WandAttachAsync(string state, Samples? into)
    {
        var (pod, container) = await AddPodAsync(state, "/usr/bin/python3.14", "-c", ByHandFloor.IdleApp);
        var port = Adapters.FreePort();
        try
        {
            var clock = Stopwatch.StartNew();
            await using var wand = Child.Start(BenchEnv.Candidates[0].Program,
                BenchEnv.Candidates[0].Args("debug", "-n", Namespace, "-s", "api", "--yes", "--port", Str(port), "--output", "json"), clock, env: Env(state));
            await wand.WaitForStdoutAsync("\"event\":\"attached\"", TimeSpan.FromSeconds(120));
            await InitializeAsync(port, clock, TimeSpan.FromSeconds(60));
            into?.Add(clock.Elapsed);
        }
        finally
        {
            await RemovePodAsync(state, pod, container);
        }
    }

    private static async Task FloorAsync(string state, Samples? into)
    {
        var (pod, container) = await AddPodAsync(state, "/usr/bin/python3.14", "-c", ByHandFloor.IdleApp);
        var port = Adapters.FreePort();
        try
        {
            var clock = Stopwatch.StartNew();
            await using var forward = Child.Start("kubectl", ["-n", Namespace, "port-forward", "pod/" + pod, ":" + Str(port), "--address", "127.0.0.1"], clock, env: Env(state));
            // The exec returns once debugpy listens: kubectl 1.32's port-forward ends at the first connection
            // refused in the pod (client-go portforward.go closes the connection on an error stream message).
            var exec = ProcessRunner.RunAsync("kubectl", ["-n", Namespace, "exec", "-i", pod, "-c", "app", "--", "/usr/bin/python3.14", "-c", ByHandFloor.Program, .. ByHandFloor.Arguments(1, "127.0.0.1", port, "/tmp", wait: true)],
                null, TimeSpan.FromSeconds(120), CancellationToken.None);
            await forward.WaitForStdoutAsync("Forwarding from 127.0.0.1:", TimeSpan.FromSeconds(60));
            var local = int.Parse(forward.Stdout.Split("Forwarding from 127.0.0.1:")[1].Split(' ')[0], CultureInfo.InvariantCulture);
            var r = await exec;
            if (!r.Ok) throw new InvalidOperationException($"floor's kubectl exec failed: {r.Stderr}");
            await InitializeAsync(local, clock, TimeSpan.FromSeconds(60));
            into?.Add(clock.Elapsed);
        }
        finally
        {
            await RemovePodAsync(state, pod, container);
        }
    }

    /// <summary>DAP initialize through 127.0.0.1:<paramref name="port"/> until answered (a forward accepts before debugpy listens; such a connection just ends).</summary>
    private static async Task InitializeAsync(int port, Stopwatch clock, TimeSpan timeout)
    {
        // Tried again every 5 ms: the moment it is answered is what is measured.
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await using var client = await DapClient.ConnectAsync("127.0.0.1", port);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await client.RequestAsync("initialize", new JsonObject { ["clientID"] = "wand-bench", ["adapterID"] = "debugpy", ["linesStartAt1"] = true, ["columnsStartAt1"] = true }, cts.Token);
                return true;
            }
            catch (Exception e) when (e is SocketException or DapConnectionClosedException or OperationCanceledException or IOException)
            {
                return false;
            }
        }, timeout, $"DAP initialize through 127.0.0.1:{port} to be answered", interval: TimeSpan.FromMilliseconds(5));
    }

    private static async Task<(Samples Noticed, Samples Accepted, Samples Ready)> ReloadAsync(string state, int iterations)
    {
        var noticed = new Samples("worker start to wand noticing it");
        var accepted = new Samples("worker start to its imports done");
        var ready = new Samples("worker start to reattached (ready)");
        var (pod, container) = await AddPodAsync(state, "/usr/bin/python3.14", "-m", "uvicorn", "--app-dir", AppDir, "app:app", "--port", "8000", "--reload", "--reload-dir", AppDir);
        try
        {
            await PodmanPythonAsync(container, "import urllib.request, time\nfor i in range(200):\n    try:\n        urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=1); break\n    except OSError: time.sleep(0.1)");
            var clock = Stopwatch.StartNew();
            var origin = Stopwatch.GetTimestamp();
            await using var wand = Child.Start(BenchEnv.Candidates[0].Program,
                BenchEnv.Candidates[0].Args("debug", "-n", Namespace, "-s", "api", "--yes", "--port", Str(Adapters.FreePort()), "--output", "json"), clock, env: Env(state));
            await wand.WaitForStdoutAsync("\"event\":\"attached\"", TimeSpan.FromSeconds(120));
            for (var i = -1; i < iterations; i++)
            {
                var seen = Count(wand.Stdout);
                await PodmanPythonAsync(container, $"open('{AppDir}/app.py', 'a').write('\\n# bench {i}\\n')");
                // Looked at every 2 ms: the moment it holds is what is measured.
                await Eventually.TrueAsync(() => Count(wand.Stdout) != seen, TimeSpan.FromSeconds(120), "a reattached event",
                    () => $"stdout:\n{wand.Stdout}\nstderr:\n{wand.Stderr}", TimeSpan.FromMilliseconds(2));
                var readyAt = clock.Elapsed;
                var line = wand.Stdout.Split('\n').Last(l => l.Contains("\"event\":\"reattached\"", StringComparison.Ordinal));
                var pid = JsonNode.Parse(line)!["pidInside"]!.GetValue<int>();
                // The worker's start in the same clock: /proc start time (ticks since boot) against CLOCK_MONOTONIC.
                var startTicks = long.Parse((await PodmanPythonAsync(container, $"print(open('/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[19])")).Trim(), CultureInfo.InvariantCulture);
                var startedAt = TimeSpan.FromSeconds(startTicks / 100.0) - TimeSpan.FromSeconds(origin / (double)Stopwatch.Frequency);
                var noticedAt = wand.StderrLines.LastOrDefault(l => l.Line.Contains($"injecting into PID {pid}", StringComparison.Ordinal)).At;
                // The request the worker took: the last one sent before the event (earlier ones were declined while it imported).
                var acceptedAt = wand.StderrLines.LastOrDefault(l => l.At <= readyAt && l.Line.Contains($"asking PID {pid} ", StringComparison.Ordinal)).At;
                if (readyAt - startedAt > TimeSpan.FromSeconds(5))
                    Report.Line($"slow re-injection into PID {pid} ({Report.Ms((readyAt - startedAt).TotalMilliseconds).Trim()}); wand said:\n    "
                        + string.Join("\n    ", wand.StderrLines.Where(l => l.At >= startedAt).Select(l => $"{Report.Ms((l.At - startedAt).TotalMilliseconds)} {l.Line}")));
                if (i < 0) continue;
                ready.Add(readyAt - startedAt);
                if (noticedAt > TimeSpan.Zero) noticed.Add(noticedAt - startedAt);
                if (acceptedAt > TimeSpan.Zero) accepted.Add(acceptedAt - startedAt);
                await Task.Delay(300);
            }
        }
        finally
        {
            await RemovePodAsync(state, pod, container);
        }
        return (noticed, accepted, ready);

        static int Count(string stdout) => stdout.Split('\n').Count(l => l.Contains("\"event\":\"reattached\"", StringComparison.Ordinal));
    }

    /// <summary>A state folder with one namespace and a service "api" selecting app=api, served by the test API server (KUBECONFIG points at it).</summary>
    internal static string Prepare()
    {
        var conf = ProcessRunner.RunAsync(Path.Combine(BenchEnv.RepoRoot(), "tests/testbed/podman.sh"), [], null, TimeSpan.FromMinutes(5), CancellationToken.None).GetAwaiter().GetResult();
        if (!conf.Ok) throw new InvalidOperationException("tests/testbed/podman.sh failed: " + conf.Stderr);
        Environment.SetEnvironmentVariable("CONTAINERS_CONF", conf.Stdout.Trim());
        var state = Directory.CreateTempSubdirectory("wand-bench-kube-").FullName;
        s_server = KubeApiServer.StartAsync(state).GetAwaiter().GetResult();
        File.WriteAllText(Path.Combine(state, "config"), s_server.Kubeconfig());
        Environment.SetEnvironmentVariable("KUBECONFIG", Path.Combine(state, "config"));
        Environment.SetEnvironmentVariable("KUBECACHEDIR", Path.Combine(state, "kubectl-cache"));
        Directory.CreateDirectory(Path.Combine(state, Namespace, "pods"));
        Directory.CreateDirectory(Path.Combine(state, Namespace, "services"));
        File.WriteAllText(Path.Combine(state, Namespace, "namespace.json"), new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = Namespace } }.ToJsonString());
        File.WriteAllText(Path.Combine(state, Namespace, "services", "api.json"), new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = new JsonObject { ["name"] = "api", ["namespace"] = Namespace },
            ["spec"] = new JsonObject { ["type"] = "ClusterIP", ["selector"] = new JsonObject { ["app"] = "api" } },
        }.ToJsonString());
        return state;
    }

    /// <summary>Stops the API server <see cref="Prepare"/> started and removes its state folder.</summary>
    internal static async Task StopAsync(string state)
    {
        if (s_server is not null) await s_server.DisposeAsync();
        s_server = null;
        Directory.Delete(state, recursive: true);
    }

    internal static Dictionary<string, string?> Env(string state) => new()
    {
        ["DEBUGWAND_SIMPLE_UI"] = "1",
        ["KUBECONFIG"] = Path.Combine(state, "config"),
        ["KUBECACHEDIR"] = Path.Combine(state, "kubectl-cache"),
        ["PATH"] = Environment.GetEnvironmentVariable("PATH"),
        ["CONTAINERS_CONF"] = Environment.GetEnvironmentVariable("CONTAINERS_CONF"),
    };

    /// <summary>A pod labelled app=api with one container "app" (a fresh podman container), Ready once its main loop runs.</summary>
    private static async Task<(string Pod, string Container)> AddPodAsync(string state, params string[] command)
    {
        var container = "wand-bench-" + Guid.NewGuid().ToString("N")[..10];
        var r = await ProcessRunner.RunAsync("podman", ["run", "-d", "--name", container, "--rootfs", BenchEnv.Rootfs + ":O", .. command], null, TimeSpan.FromSeconds(60), CancellationToken.None);
        if (!r.Ok) throw new InvalidOperationException($"podman run failed: {r.Stderr}");
        var pod = "api-" + Guid.NewGuid().ToString("N")[..5];
        var json = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = pod,
                ["namespace"] = Namespace,
                ["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["labels"] = new JsonObject { ["app"] = "api" },
                ["annotations"] = new JsonObject { [KubeApiServer.ContainerAnnotation + "app"] = container },
            },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["command"] = new JsonArray(command.Select(c => (JsonNode?)c).ToArray()) }) },
            ["status"] = new JsonObject { ["phase"] = "Running" },
        };
        File.WriteAllText(Path.Combine(state, Namespace, "pods", pod + ".json"), json.ToJsonString());
        if (command.Contains("-c"))
        {
            await Eventually.TrueAsync(async () => (await ProcessRunner.RunAsync("podman", ["logs", container], null, TimeSpan.FromSeconds(10), CancellationToken.None)).Stdout.Contains("ready", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), $"benchmark pod {pod} to print ready");
            return (pod, container);
        }
        return (pod, container);
    }

    private static async Task RemovePodAsync(string state, string pod, string container)
    {
        File.Delete(Path.Combine(state, Namespace, "pods", pod + ".json"));
        await RemoveAsync(container);
    }

    internal static Task RemoveAsync(string container) =>
        ProcessRunner.RunAsync("podman", ["rm", "-f", "-t", "0", container], null, TimeSpan.FromSeconds(60), CancellationToken.None);

    internal static async Task<string> PodmanPythonAsync(string container, string code)
    {
        var r = await ProcessRunner.RunAsync("podman", ["exec", container, "/usr/bin/python3.14", "-c", code], null, TimeSpan.FromSeconds(60), CancellationToken.None);
        if (!r.Ok) throw new InvalidOperationException($"podman exec failed: {r.Stderr}");
        return r.Stdout;
    }

    private static string Str(int value) => value.ToString(CultureInfo.InvariantCulture);
}
