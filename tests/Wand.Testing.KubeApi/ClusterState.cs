using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wand.Testing.KubeApi;

/// <summary>
/// The cluster as the tests describe it (README.md): Kubernetes JSON in a state folder, each pod
/// container naming the podman container behind it. Pod status (container states, restarts,
/// readiness) comes from podman. Pods get a resourceVersion that changes when what is served changes,
/// and every change is kept as a watch event (ADDED, MODIFIED, DELETED).
/// </summary>
internal sealed class ClusterState(string root)
{
    /// <summary>Pod annotation naming the podman container behind container NAME: PREFIX + NAME.</summary>
    public const string ContainerAnnotation = "kube-test-server/podman.";

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Json, JsonObject Pod)> _pods = [];
    private readonly List<WatchEvent> _events = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _version = 1;

    public sealed record WatchEvent(long Version, string Namespace, string Type, JsonObject Object);

    public string Root => root;

    public long Version
    {
        get
        {
            lock (_gate) return _version;
        }
    }

    /// <summary>Completes at the next change (a fresh task after each).</summary>
    public Task Changed
    {
        get
        {
            lock (_gate) return _changed.Task;
        }
    }

    /// <summary>Services, Knative services or revisions (not pods): read from their files.</summary>
    public IReadOnlyList<JsonObject> Read(string ns, string folder)
    {
        var dir = Path.Combine(root, ns, folder);
        if (!Directory.Exists(dir)) return [];
        var items = new List<JsonObject>();
        foreach (var f in Directory.EnumerateFiles(dir, "*.json").Order(StringComparer.Ordinal))
        {
            try
            {
                if (JsonNode.Parse(File.ReadAllText(f)) is JsonObject o)
                {
                    o["metadata"]!["resourceVersion"] ??= "1";
                    items.Add(o);
                }
            }
            catch (Exception e) when (e is IOException or JsonException)
            {
                // written or deleted right now: the next read has it
            }
        }
        return items;
    }

    public bool NamespaceExists(string ns) => File.Exists(Path.Combine(root, ns, "namespace.json"));

    /// <summary>The pods of <paramref name="ns"/> (null: all) as served now, after reading files and podman again.</summary>
    public async Task<(IReadOnlyList<JsonObject> Pods, long Version)> PodsAsync(string? ns)
    {
        await RefreshAsync();
        lock (_gate)
            return (_pods.Values.Select(p => p.Pod).Where(p => ns is null || p["metadata"]!["namespace"]!.GetValue<string>() == ns)
                .OrderBy(p => p["metadata"]!["name"]!.GetValue<string>(), StringComparer.Ordinal).Select(p => (JsonObject)p.DeepClone()).ToList(), _version);
    }

    /// <summary>Events after <paramref name="version"/>.</summary>
    public IReadOnlyList<WatchEvent> EventsSince(long version)
    {
        lock (_gate) return _events.Where(e => e.Version > version).ToList();
    }

    /// <summary>Reads every pod file and podman's state; records what changed.</summary>
    public async Task RefreshAsync()
    {
        await _refresh.WaitAsync();
        try
        {
            var pods = new List<JsonObject>();
            if (Directory.Exists(root))
                foreach (var nsDir in Directory.EnumerateDirectories(root))
                    pods.AddRange(Read(Path.GetFileName(nsDir), "pods"));
            var states = await Podman.InspectAsync(pods.SelectMany(PodmanNames).Distinct().ToList());
            var now = pods.Select(p => WithStatus(p, states)).ToDictionary(Key);
            lock (_gate)
            {
                var changed = false;
                foreach (var (key, pod) in now)
                {
                    var json = pod.ToJsonString();
                    var known = _pods.TryGetValue(key, out var old);
                    if (known && old.Json == json) continue;
                    var served = (JsonObject)pod.DeepClone();
                    served["metadata"]!["resourceVersion"] = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    _pods[key] = (json, served);
                    _events.Add(new WatchEvent(_version, Namespace(served), known ? "MODIFIED" : "ADDED", served));
                    changed = true;
                }
                foreach (var key in _pods.Keys.Where(k => !now.ContainsKey(k)).ToList())
                {
                    var gone = (JsonObject)_pods[key].Pod.DeepClone();
                    _pods.Remove(key);
                    gone["metadata"]!["resourceVersion"] = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    _events.Add(new WatchEvent(_version, Namespace(gone), "DELETED", gone));
                    changed = true;
                }
                if (_events.Count > 10_000) _events.RemoveRange(0, _events.Count - 10_000);
                if (changed)
                {
                    _changed.TrySetResult();
                    _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>The podman container behind each container of the pod, in spec order.</summary>
    public static IEnumerable<(string Container, string Podman)> Containers(JsonObject pod)
    {
        var annotations = pod["metadata"]?["annotations"] as JsonObject;
        foreach (var c in pod["spec"]?["containers"] as JsonArray ?? [])
        {
            var name = c!["name"]!.GetValue<string>();
            if (annotations?[ContainerAnnotation + name]?.GetValue<string>() is { } podman) yield return (name, podman);
        }
    }

    private static IEnumerable<string> PodmanNames(JsonObject pod) => Containers(pod).Select(c => c.Podman);

    private static string Namespace(JsonObject o) => o["metadata"]!["namespace"]!.GetValue<string>();

    private static string Key(JsonObject o) => Namespace(o) + "/" + o["metadata"]!["name"]!.GetValue<string>();

    /// <summary>Container statuses from the real podman containers; Ready when all of them run (and the pod says Running).</summary>
    private static JsonObject WithStatus(JsonObject pod, Dictionary<string, JsonObject> states)
    {
        var status = pod["status"] as JsonObject ?? [];
        pod["status"] = status;
        var phase = status["phase"]?.GetValue<string>() ?? "Running";
        status["phase"] = phase;
        var podman = Containers(pod).ToDictionary(c => c.Container, c => c.Podman);
        var statuses = new JsonArray();
        var allReady = true;
        foreach (var c in pod["spec"]?["containers"] as JsonArray ?? [])
        {
            var name = c!["name"]!.GetValue<string>();
            var state = podman.TryGetValue(name, out var pn) ? states.GetValueOrDefault(pn) : null;
            var running = phase == "Running" && state?["State"]?["Running"]?.GetValue<bool>() == true;
            allReady &= running;
            JsonObject now = phase == "Pending"
                ? new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ContainerCreating" } }
                : running
                    ? new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Timestamp(state!["State"]!["StartedAt"]!.GetValue<string>()) } }
                    : new JsonObject
                    {
                        ["terminated"] = new JsonObject
                        {
                            ["exitCode"] = state?["State"]?["ExitCode"]?.GetValue<int>() ?? 137,
                            ["reason"] = state is null ? "ContainerStatusUnknown" : "Error",
                        },
                    };
            statuses.Add(new JsonObject
            {
                ["name"] = name,
                ["image"] = c["image"]?.GetValue<string>() ?? "",
                ["imageID"] = "",
                ["containerID"] = state is null ? "" : "podman://" + state["Id"]!.GetValue<string>(),
                ["ready"] = running,
                ["started"] = running,
                ["restartCount"] = state?["RestartCount"]?.GetValue<int>() ?? 0,
                ["state"] = now,
            });
        }
        // Readiness gates (spec.readinessGates): the pod is Ready only once each gate's condition, which
        // something else sets in the pod's status (here: the file's status.conditions), is True.
        var written = (status["conditions"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var gates = (pod["spec"]?["readinessGates"] as JsonArray ?? []).Select(g => g?["conditionType"]?.GetValue<string>()).OfType<string>().ToList();
        var gateConditions = written.Where(c => gates.Contains(c["type"]?.GetValue<string>() ?? "")).Select(c => (JsonNode)c.DeepClone()).ToList();
        var gatesOpen = gates.All(g => gateConditions.Any(c => c["type"]!.GetValue<string>() == g && c["status"]?.GetValue<string>() == "True"));
        var containersReady = allReady && phase == "Running" && pod["metadata"]?["deletionTimestamp"] is null;
        var ready = containersReady && gatesOpen;
        status["containerStatuses"] = statuses;
        string Cond(bool b) => b ? "True" : "False";
        status["conditions"] = new JsonArray([
            new JsonObject { ["type"] = "Initialized", ["status"] = "True" },
            new JsonObject { ["type"] = "Ready", ["status"] = Cond(ready) },
            new JsonObject { ["type"] = "ContainersReady", ["status"] = Cond(containersReady) },
            new JsonObject { ["type"] = "PodScheduled", ["status"] = "True" },
            .. gateConditions]);
        return pod;
    }

    /// <summary>podman's "2026-12-06T23:50:12.123456789Z" (or with an offset) as Kubernetes' RFC 3339 seconds.</summary>
    private static string Timestamp(string podman) =>
        DateTimeOffset.TryParse(podman, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture)
            : podman;
}
