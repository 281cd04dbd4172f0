using System.Text.Json.Nodes;
using Wand.Testing.KubeApi;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// One namespace of the test Kubernetes API server (tests/Wand.Testing.KubeApi): writes services and
/// pods as Kubernetes JSON into its state folder and backs every pod container with a real podman
/// container. The server starts with the first cluster; KUBECONFIG points this test process and
/// everything it starts (wand, and the machine's real kubectl under it) at it.
/// Disposing removes the containers and the namespace.
/// </summary>
public sealed class KubeCluster : IAsyncDisposable
{
    /// <summary>A second kubeconfig context (the server's log names the context of each request).</summary>
    public const string SecondContext = "second-ctx";

    private static readonly Lazy<(string State, KubeApiServer Server)> Cluster = new(() =>
    {
        var state = Path.Combine(Path.GetTempPath(), $"wand-kube-state-{Environment.ProcessId}");
        Directory.CreateDirectory(state);
        var server = KubeApiServer.StartAsync(state).GetAwaiter().GetResult();
        Environment.SetEnvironmentVariable("KUBECONFIG", WriteKubeconfig(state, "config", server));
        // kubectl's discovery cache (default ~/.kube/cache) stays with the state.
        Environment.SetEnvironmentVariable("KUBECACHEDIR", Path.Combine(state, "kubectl-cache"));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(state, recursive: true);
        return (state, server);
    });

    private static readonly Lazy<(string Kubeconfig, KubeApiServer Server)> V4Only = new(() =>
    {
        var server = KubeApiServer.StartAsync(State, new KubeApiOptions { ExecV4Only = true }).GetAwaiter().GetResult();
        return (WriteKubeconfig(State, "config-v4", server), server);
    });

    private static string State => Cluster.Value.State;

    private static string WriteKubeconfig(string state, string name, KubeApiServer server)
    {
        var path = Path.Combine(state, name);
        File.WriteAllText(path, server.Kubeconfig(SecondContext));
        return path;
    }

    private readonly List<TestContainer> _containers = [];
    private readonly List<string> _pods = [];

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

    /// <summary>Every request the API server has had so far, one a line: "METHOD PATH?QUERY (context NAME)".</summary>
    public static string Log => Cluster.Value.Server.RequestLog;

    /// <summary>
    /// A kubeconfig for a second server on the same cluster that serves exec as API servers before 1.30
    /// do: SPDY with v4.channel.k8s.io only, so kubectl cannot signal the end of its stdin.
    /// </summary>
    public static string V4OnlyKubeconfig => V4Only.Value.Kubeconfig;

    /// <summary>The requests the v4-only server has had (<see cref="Log"/>'s format).</summary>
    public static string V4OnlyLog => V4Only.Value.Server.RequestLog;

    /// <summary>PIDs of the running `kubectl port-forward pod/POD ...` processes of this namespace.</summary>
    public IReadOnlyList<int> PortForwardPids(string pod) => KubectlPids(argv => argv.Contains("port-forward") && argv.Contains("pod/" + pod));

    /// <summary>PIDs of the running `kubectl exec -i POD ...` processes of wand's agent into the pod (the watcher lives long; others come and go).</summary>
    public static IReadOnlyList<int> AgentExecPids(KubePod pod) =>
        ProcessesWhere(argv => argv.Any(a => a.EndsWith("kubectl", StringComparison.Ordinal)) && argv.Contains("exec")
            && argv.Any(a => a.Contains("__wand_agent__", StringComparison.Ordinal)) && argv.Contains(pod.Name));

    /// <summary>How many exec requests into this namespace the API server has had so far.</summary>
    public int ExecCount => Log.Split('\n').Count(l => l.Contains($"/namespaces/{Namespace}/pods/", StringComparison.Ordinal) && l.Contains("/exec?", StringComparison.Ordinal));

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

    /// <summary>
    /// Starts one podman container per pod container and records the pod. A pod of several containers,
    /// or one with <paramref name="shareProcessNamespace"/>, is a podman pod: its containers share the
    /// network namespace (and then the PID namespace, where PID 1 is the pod's pause process, as in Kubernetes).
    /// </summary>
    /// <param name="annotations">More metadata.annotations (e.g. kubectl.kubernetes.io/default-container).</param>
    /// <param name="ready">false: the pod's readiness gate (spec.readinessGates) keeps it from Ready until <see cref="SetReady"/>, as a readinessProbe would until the app serves.</param>
    public async Task<KubePod> AddPodAsync(string name, IReadOnlyDictionary<string, string> labels, IReadOnlyList<(string Name, string[] Command)> containers,
        string? rootfs = null, DateTimeOffset? created = null, JsonObject? livenessProbe = null, bool shareProcessNamespace = false,
        IReadOnlyDictionary<string, string>? annotations = null, bool ready = true)
    {
        string? podmanPod = null;
        if (containers.Count > 1 || shareProcessNamespace)
        {
            podmanPod = "wand-test-pod-" + Guid.NewGuid().ToString("N")[..10];
            var made = await TestContainer.PodmanAsync(["pod", "create", "--name", podmanPod, "--share", shareProcessNamespace ? "net,ipc,uts,pid" : "net,ipc,uts"]);
            if (made.ExitCode != 0) throw new InvalidOperationException($"podman pod create failed: {made}");
            _pods.Add(podmanPod);
        }
        var backing = new Dictionary<string, TestContainer>();
        var metadataAnnotations = new JsonObject();
        foreach (var (key, value) in annotations ?? new Dictionary<string, string>()) metadataAnnotations[key] = value;
        var specs = new JsonArray();
        foreach (var (container, command) in containers)
        {
            var c = await TestContainer.StartAsync(command, rootfs, pod: podmanPod);
            _containers.Add(c);
            backing[container] = c;
            metadataAnnotations[KubeApiServer.ContainerAnnotation + container] = c.Name;
            specs.Add(new JsonObject { ["name"] = container, ["image"] = "localhost/wand-testbed:latest", ["command"] = new JsonArray(command.Select(a => (JsonNode?)a).ToArray()) });
            if (livenessProbe is not null && specs.Count == 1) specs[0]!["livenessProbe"] = livenessProbe.DeepClone(); // the first container's
        }
        var spec = new JsonObject { ["containers"] = specs, ["nodeName"] = "test-node-1", ["restartPolicy"] = "Always" };
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
        return new KubePod(name, backing, podmanPod);
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
        File.Delete(Path.Combine(State, Namespace, "pods", pod.Name + ".json"));
        foreach (var c in pod.Containers.Values) _containers.Remove(c);
        if (pod.PodmanPod is { } podmanPod && _pods.Remove(podmanPod)) await RemovePodmanPodAsync(podmanPod);
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

    /// <summary>`podman pod rm -f` (its infra container), bounded; cleanup never fails a test.</summary>
    private static async Task RemovePodmanPodAsync(string name)
    {
        try
        {
            await TestContainer.PodmanAsync(["pod", "rm", "-f", "--ignore", name]);
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine($"warning: podman could not remove pod {name}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_containers.Select(c => RemoveContainerAsync(c.Name)));
        await Task.WhenAll(_pods.Select(RemovePodmanPodAsync));
        try
        {
            Directory.Delete(Path.Combine(State, Namespace), recursive: true);
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
        var resource = JsonNode.Parse(File.ReadAllText(Path.Combine(State, Namespace, relative)))!.AsObject();
        change(resource);
        Write(relative, resource);
    }

    private void Write(string relative, JsonObject resource)
    {
        var path = Path.Combine(State, Namespace, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path + ".tmp", resource.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
