using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Wand.Bench.Harness;
using Wand.Session.Dap;
using Wand.Testing.KubeApi;
using Wand.Transport;

namespace Wand.Bench;

/// <summary>
/// A rollout under one open editor session, on the test Kubernetes API server (real kubectl): a new pod of the service starts
/// with its readiness gate closed, serves, and then becomes Ready (the gate opens, as when a
/// readinessProbe starts to pass); timed from that moment until the editor is told its breakpoints are
/// set again in the new pod (the proxy's "now debugging ...; breakpoints are set again" line). The old
/// pod is deleted afterwards, so the session took over while it was still there. Target: 1.5 s.
/// </summary>
public static class KubeRolloutBench
{
    private const string ReadinessGate = "wand.bench/ready";

    public static async Task<IReadOnlyList<Verdict>> RunAsync(int iterations)
    {
        BenchEnv.EnsureBuilt(BenchEnv.Candidates[0].Location);
        var state = KubeBench.Prepare();
        var containers = new List<string>();
        try
        {
            Report.Title($"kube rollout: a new pod Ready under one editor session until its breakpoint is armed (N={iterations})");
            var armed = new Samples("Ready until breakpoints armed (editor told)");
            var reattached = new Samples("Ready until wand's reattached event");
            var old = await AddPodAsync(state, containers, ready: true);
            var clock = Stopwatch.StartNew();
            var port = Adapters.FreePort();
            await using var wand = Child.Start(BenchEnv.Candidates[0].Program,
                BenchEnv.Candidates[0].Args("debug", "-n", KubeBench.Namespace, "-s", "api", "--yes", "--port", port.ToString(CultureInfo.InvariantCulture), "--output", "json"), clock, env: KubeBench.Env(state));
            await wand.WaitForStdoutAsync("\"event\":\"attached\"", TimeSpan.FromSeconds(120));
            await using var editor = await DapClient.ConnectAsync("127.0.0.1", port);
            var line = File.ReadLines(Path.Combine(BenchEnv.Rootfs, KubeBench.AppDir.TrimStart('/'), "app.py")).Select((l, i) => (l, i)).First(x => x.l.Contains("# BREAKPOINT: items", StringComparison.Ordinal)).i + 1;
            await editor.AttachAsync(new Dictionary<string, IReadOnlyList<int>> { [KubeBench.AppDir + "/app.py"] = [line] });
            for (var i = -1; i < iterations; i++)
            {
                var next = await AddPodAsync(state, containers, ready: false);
                await KubeBench.PodmanPythonAsync(next.Container, "import urllib.request, time\nfor i in range(300):\n    try:\n        urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=1); break\n    except OSError: time.sleep(0.05)");
                var seen = wand.Stdout.Split('\n').Count(l => l.Contains("\"event\":\"reattached\"", StringComparison.Ordinal));
                var readyAt = clock.Elapsed;
                SetReady(state, next.Pod);
                await editor.WaitForEventAsync("output", e => e["body"]?["output"]?.GetValue<string>().Contains("breakpoints are set again", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(60));
                var armedAt = clock.Elapsed;
                var events = wand.Stdout.Split('\n').Where(l => l.Contains("\"event\":\"reattached\"", StringComparison.Ordinal)).ToList();
                if (events.Count <= seen || !events[^1].Contains(next.Pod, StringComparison.Ordinal))
                    throw new InvalidOperationException($"the breakpoints were armed, but not in pod {next.Pod}.\nstdout:\n{wand.Stdout}\nstderr:\n{wand.Stderr}");
                var reattachedAt = wand.StderrLines.LastOrDefault(l => l.Line.Contains($"following pod {old.Pod} to its replacement, pod {next.Pod}", StringComparison.Ordinal)).At;
                if (armedAt - readyAt > TimeSpan.FromSeconds(1.5))
                    Report.Line($"slow takeover by pod {next.Pod} ({Report.Ms((armedAt - readyAt).TotalMilliseconds).Trim()}); wand said:\n    "
                        + string.Join("\n    ", wand.StderrLines.Where(l => l.At >= readyAt).Select(l => $"{Report.Ms((l.At - readyAt).TotalMilliseconds)} {l.Line}")));
                if (i >= 0)
                {
                    armed.Add(armedAt - readyAt);
                    if (reattachedAt > readyAt) reattached.Add(reattachedAt - readyAt);
                }
                await DeletePodAsync(state, old);
                old = next;
            }
            Report.Table(armed, reattached);
            var pass = armed.Median <= 1500;
            Report.Line($"median Ready until armed: {Report.Ms(armed.Median).Trim()} (target 1500 ms: {Report.PassMiss(pass)})");
            return [new Verdict("kube rollout", pass)];
        }
        finally
        {
            foreach (var c in containers) await KubeBench.RemoveAsync(c);
            await KubeBench.StopAsync(state);
        }
    }

    /// <summary>A pod labelled app=api with one container "app" (uvicorn serving the sample), Ready only once its gate is opened.</summary>
    private static async Task<(string Pod, string Container)> AddPodAsync(string state, List<string> containers, bool ready)
    {
        var container = "wand-bench-" + Guid.NewGuid().ToString("N")[..10];
        string[] command = ["/usr/bin/python3.14", "-m", "uvicorn", "--app-dir", KubeBench.AppDir, "app:app", "--port", "8000"];
        var r = await ProcessRunner.RunAsync("podman", ["run", "-d", "--name", container, "--rootfs", BenchEnv.Rootfs + ":O", .. command], null, TimeSpan.FromSeconds(60), CancellationToken.None);
        if (!r.Ok) throw new InvalidOperationException($"podman run failed: {r.Stderr}");
        containers.Add(container);
        var pod = "api-" + Guid.NewGuid().ToString("N")[..5];
        var json = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = pod,
                ["namespace"] = KubeBench.Namespace,
                ["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["labels"] = new JsonObject { ["app"] = "api", ["pod-template-hash"] = pod[4..] }, // each pod a new template: a rollout
                ["annotations"] = new JsonObject { [KubeApiServer.ContainerAnnotation + "app"] = container },
            },
            ["spec"] = new JsonObject
            {
                ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["command"] = new JsonArray(command.Select(c => (JsonNode?)c).ToArray()) }),
                ["readinessGates"] = new JsonArray(new JsonObject { ["conditionType"] = ReadinessGate }),
            },
            ["status"] = new JsonObject { ["phase"] = "Running", ["conditions"] = Gate(ready) },
        };
        Write(state, pod, json);
        return (pod, container);
    }

    private static JsonArray Gate(bool open) => new(new JsonObject { ["type"] = ReadinessGate, ["status"] = open ? "True" : "False" });

    private static void SetReady(string state, string pod)
    {
        var json = JsonNode.Parse(File.ReadAllText(PodFile(state, pod)))!.AsObject();
        json["status"]!["conditions"] = Gate(true);
        Write(state, pod, json);
    }

    /// <summary>Terminating first (deletionTimestamp), then gone with its container, as `kubectl delete pod` does.</summary>
    private static async Task DeletePodAsync(string state, (string Pod, string Container) pod)
    {
        var json = JsonNode.Parse(File.ReadAllText(PodFile(state, pod.Pod)))!.AsObject();
        json["metadata"]!["deletionTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        Write(state, pod.Pod, json);
        await KubeBench.RemoveAsync(pod.Container);
        File.Delete(PodFile(state, pod.Pod));
    }

    private static string PodFile(string state, string pod) => Path.Combine(state, KubeBench.Namespace, "pods", pod + ".json");

    private static void Write(string state, string pod, JsonObject json)
    {
        File.WriteAllText(PodFile(state, pod) + ".tmp", json.ToJsonString());
        File.Move(PodFile(state, pod) + ".tmp", PodFile(state, pod), overwrite: true);
    }
}
