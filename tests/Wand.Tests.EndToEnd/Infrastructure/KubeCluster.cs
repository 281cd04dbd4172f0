using System.Text.Json.Nodes;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// One namespace of the kubectl stand-in (tests/kubectl-standin): writes services and pods as
/// Kubernetes JSON into its state folder and backs every pod container with a real podman container.
/// The stand-in comes first on PATH for this test process and everything it starts (wand included).
/// Disposing removes the containers and the namespace.
/// </summary>
public sealed class KubeCluster : IAsyncDisposable
{
    private static readonly Lazy<string> State = new(() =>
    {
        var standin = Path.Combine(Testbed.RepoRoot, "tests/kubectl-standin");
        var script = Path.Combine(standin, "kubectl");
        File.SetUnixFileMode(script, File.GetUnixFileMode(script) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var state = Path.Combine(Path.GetTempPath(), $"wand-kube-state-{Environment.ProcessId}");
        Directory.CreateDirectory(state);
        Environment.SetEnvironmentVariable("WAND_KUBE_STATE", state);
        Environment.SetEnvironmentVariable("PATH", standin + ":" + Environment.GetEnvironmentVariable("PATH"));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(state, recursive: true);
        return state;
    });

    private readonly List<TestContainer> _containers = [];

    private KubeCluster(string ns)
    {
        Namespace = ns;
        Write("namespace.json", new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Namespace",
            ["metadata"] = new JsonObject { ["name"] = ns },
            ["status"] = new JsonObject { ["phase"] = "Active" },
        });
    }

    public string Namespace { get; }

    /// <summary>Every kubectl invocation so far (one JSON argv a line).</summary>
    public static string Log => File.Exists(Path.Combine(State.Value, "kubectl.log")) ? File.ReadAllText(Path.Combine(State.Value, "kubectl.log")) : "";

    /// <summary>PIDs of the running `kubectl port-forward pod/POD ...` processes of this namespace.</summary>
    public IReadOnlyList<int> PortForwardPids(string pod) => KubectlPids(argv => argv.Contains("port-forward") && argv.Contains("pod/" + pod));

    /// <summary>
    /// PIDs of the running `kubectl exec -i POD ...` processes of wand's agent into the pod (the watcher
    /// lives long; others come and go). The stand-in execs `podman exec`, so that is what runs.
    /// </summary>
    public static IReadOnlyList<int> AgentExecPids(KubePod pod) =>
        ProcessesWhere(argv => argv.Contains("exec") && argv.Any(a => a.Contains("__wand_agent__", StringComparison.Ordinal))
            && pod.Containers.Values.Any(c => argv.Contains(c.Name)));

    /// <summary>How many `kubectl exec` calls into this namespace the stand-in has seen so far.</summary>
    public int ExecCount => Log.Split('\n').Count(l => l.Contains("\"exec\"", StringComparison.Ordinal) && l.Contains($"\"{Namespace}\"", StringComparison.Ordinal));

    private IReadOnlyList<int> KubectlPids(Func<string[], bool> match) =>
        ProcessesWhere(argv => argv.Any(a => a.EndsWith("kubectl", StringComparison.Ordinal)) && argv.Contains(Namespace) && match(argv));

    private static IReadOnlyList<int> ProcessesWhere(Func<string[], bool> match)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string[] argv;
            try
            {
                argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            if (match(argv)) found.Add(pid);
        }
        return found;
    }

    public static KubeCluster Create() => new($"wand-{Guid.NewGuid().ToString("N")[..8]}");

    /// <summary>A ClusterIP service selecting pods by <paramref name="selector"/> (none: a service without selector).</summary>
    public void AddService(string name, IReadOnlyDictionary<string, string>? selector)
    {
        var spec = new JsonObject { ["type"] = "ClusterIP", ["ports"] = new JsonArray(new JsonObject { ["port"] = 80, ["targetPort"] = 8000, ["protocol"] = "TCP" }) };
        if (selector is not null) spec["selector"] = Labels(selector);
        Write($"services/{name}.json", Resource("Service", name, null, spec));
    }

    /// <summary>The ExternalName service Knative creates for a Knative Service.</summary>
    public void AddKnativeService(string name) =>
        Write($"services/{name}.json", Resource("Service", name, new Dictionary<string, string> { ["serving.knative.dev/service"] = name },
            new JsonObject { ["type"] = "ExternalName", ["externalName"] = "kourier-internal.kourier-system.svc.cluster.local" }));

    /// <summary>Starts one podman container per pod container and records the pod.</summary>
    /// <param name="shareProcessNamespace">spec.shareProcessNamespace: the containers share one PID namespace whose PID 1 is the pod's pause
    /// (podman's own, catatonit -P, in a container of its own), so each container's first process has parent 0.</param>
    /// <param name="annotations">More metadata.annotations (e.g. kubectl.kubernetes.io/default-container).</param>
    /// <param name="ready">false: the pod has a readiness gate (spec.readinessGates) that keeps it from Ready until <see cref="SetReady"/>, as a readinessProbe would until the app serves.</param>
    public async Task<KubePod> AddPodAsync(string name, IReadOnlyDictionary<string, string> labels, IReadOnlyList<(string Name, string[] Command)> containers,
        string? rootfs = null, DateTimeOffset? created = null, JsonObject? livenessProbe = null, bool shareProcessNamespace = false,
        IReadOnlyDictionary<string, string>? annotations = null, bool ready = true)
    {
        var backing = new Dictionary<string, TestContainer>();
        var metadataAnnotations = new JsonObject();
        foreach (var (key, value) in annotations ?? new Dictionary<string, string>()) metadataAnnotations[key] = value;
        var specs = new JsonArray();
        IReadOnlyList<string>? options = null;
        if (shareProcessNamespace)
        {
            var pause = await TestContainer.StartAsync(["/pause", "-P"], rootfs, options: ["-v", "/usr/bin/catatonit:/pause:ro"]);
            _containers.Add(pause);
            options = ["--pid", "container:" + pause.Name];
        }
        foreach (var (container, command) in containers)
        {
            var c = await TestContainer.StartAsync(command, rootfs, options: options);
            _containers.Add(c);
            backing[container] = c;
            metadataAnnotations["kubectl-standin/podman." + container] = c.Name;
            specs.Add(new JsonObject { ["name"] = container, ["image"] = "localhost/wand-testbed:latest", ["command"] = new JsonArray(command.Select(a => (JsonNode?)a).ToArray()) });
            if (livenessProbe is not null && specs.Count == 1) specs[0]!["livenessProbe"] = livenessProbe.DeepClone(); // the first container's
        }
        var spec = new JsonObject { ["containers"] = specs, ["nodeName"] = "standin-node-1", ["restartPolicy"] = "Always" };
        if (shareProcessNamespace) spec["shareProcessNamespace"] = true;
        spec["readinessGates"] = new JsonArray(new JsonObject { ["conditionType"] = ReadinessGate });
        var pod = Resource("Pod", name, labels, spec);
        pod["metadata"]!["annotations"] = metadataAnnotations;
        pod["metadata"]!["creationTimestamp"] = (created ?? DateTimeOffset.UtcNow).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ");
        pod["status"] = new JsonObject
        {
            ["phase"] = "Running", ["podIP"] = "10.88.0.10", ["hostIP"] = "192.168.1.10", ["qosClass"] = "BestEffort",
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = ReadinessGate, ["status"] = ready ? "True" : "False" }),
        };
        Write($"pods/{name}.json", pod);
        return new KubePod(name, backing);
    }

    /// <summary>The condition of the readiness gate every pod has (<see cref="SetReady"/>).</summary>
    private const string ReadinessGate = "wand.test/ready";

    /// <summary>Opens (or closes) the pod's readiness gate: it becomes Ready once its containers run, as when a readinessProbe starts to pass.</summary>
    public void SetReady(KubePod pod, bool ready = true) => Update(pod, p =>
        p["status"]!["conditions"] = new JsonArray(new JsonObject { ["type"] = ReadinessGate, ["status"] = ready ? "True" : "False" }));

    /// <summary>
    /// Sets metadata.deletionTimestamp, as `kubectl delete pod --wait=false` does first: the pod is
    /// Terminating while its containers still run (a long grace period, an app ignoring SIGTERM).
    /// </summary>
    public void BeginDeletion(KubePod pod) => Update(pod, p => p["metadata"]!["deletionTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"));

    /// <summary>Deletes the pod and its containers, as `kubectl delete pod` would: Terminating first, gone once its containers are.</summary>
    public async Task DeletePodAsync(KubePod pod)
    {
        BeginDeletion(pod);
        await Task.WhenAll(pod.Containers.Values.Select(c => RemoveContainerAsync(c.Name)));
        File.Delete(Path.Combine(State.Value, Namespace, "pods", pod.Name + ".json"));
        foreach (var c in pod.Containers.Values) _containers.Remove(c);
    }

    /// <summary>
    /// `podman rm -f -t 0`, each try bounded (a podman stuck on its lock once hung a test's cleanup):
    /// a try that does not finish in time is killed and retried; cleanup never fails a test.
    /// </summary>
    private static async Task RemoveContainerAsync(string name)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var psi = new System.Diagnostics.ProcessStartInfo("podman") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "rm", "-f", "-t", "0", "--ignore", name }) psi.ArgumentList.Add(a);
            using var p = System.Diagnostics.Process.Start(psi)!;
            var drain = Task.WhenAll(p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync());
            try
            {
                await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
                await drain;
                if (p.ExitCode == 0) return;
            }
            catch (TimeoutException)
            {
                p.Kill(entireProcessTree: true);
            }
        }
        Console.Error.WriteLine($"warning: podman could not remove container {name}");
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_containers.Select(c => RemoveContainerAsync(c.Name)));
        try
        {
            Directory.Delete(Path.Combine(State.Value, Namespace), recursive: true);
        }
        catch (IOException)
        {
            // a kubectl call still writing its log; the folder goes with the state at exit
        }
    }

    private JsonObject Resource(string kind, string name, IReadOnlyDictionary<string, string>? labels, JsonObject spec) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = kind,
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["namespace"] = Namespace,
            ["uid"] = Guid.NewGuid().ToString(),
            ["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
            ["labels"] = Labels(labels ?? new Dictionary<string, string>()),
        },
        ["spec"] = spec,
    };

    private static JsonObject Labels(IReadOnlyDictionary<string, string> labels) => new(labels.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));

    private void Update(KubePod pod, Action<JsonObject> change)
    {
        var relative = $"pods/{pod.Name}.json";
        var resource = JsonNode.Parse(File.ReadAllText(Path.Combine(State.Value, Namespace, relative)))!.AsObject();
        change(resource);
        Write(relative, resource);
    }

    private void Write(string relative, JsonObject resource)
    {
        var path = Path.Combine(State.Value, Namespace, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path + ".tmp", resource.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
