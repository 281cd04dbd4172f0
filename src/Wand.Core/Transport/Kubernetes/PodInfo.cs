using System.Globalization;
using System.Text.Json;

namespace Wand.Transport.Kubernetes;

/// <summary>What wand needs of a Pod object (<c>kubectl get pod -o json</c>).</summary>
/// <param name="Containers">Container names in spec order, each with the first word of its command when the spec gives one.</param>
public sealed record PodInfo(string Name, string Namespace, string Phase, bool Ready, int Restarts, DateTimeOffset Created, string Node,
    IReadOnlyDictionary<string, string> Labels, IReadOnlyList<(string Name, string Entry)> Containers, string? DefaultContainer)
{
    public const string KnativeServiceLabel = "serving.knative.dev/service";
    public const string KnativeRevisionLabel = "serving.knative.dev/revision";

    /// <summary>The Knative revision, when the pod belongs to one.</summary>
    public string? Revision => Labels.GetValueOrDefault(KnativeRevisionLabel);

    public bool IsKnative => Labels.ContainsKey(KnativeServiceLabel);

    /// <summary>spec.shareProcessNamespace: every container sees every process, and PID 1 is the pod's pause.</summary>
    public bool ShareProcessNamespace { get; init; }

    /// <summary>metadata.deletionTimestamp is set: the pod is being deleted (kubectl's "Terminating"); never a target.</summary>
    public bool Terminating { get; init; }

    /// <summary>
    /// What kubectl's STATUS column says: Terminating, the reason a container waits for
    /// (ContainerCreating, CrashLoopBackOff, ImagePullBackOff), else the phase.
    /// </summary>
    public string Status { get; init; } = "";

    /// <summary>The livenessProbe of each container that has one.</summary>
    public IReadOnlyDictionary<string, LivenessProbe> LivenessProbes { get; init; } = new Dictionary<string, LivenessProbe>();

    /// <summary>Parses one Pod; missing fields take Kubernetes' defaults (a pod without status is Pending).</summary>
    public static PodInfo Parse(JsonElement pod)
    {
        var meta = pod.GetProperty("metadata");
        var spec = pod.TryGetProperty("spec", out var s) ? s : default;
        var status = pod.TryGetProperty("status", out var st) ? st : default;
        var labels = meta.TryGetProperty("labels", out var l) && l.ValueKind == JsonValueKind.Object
            ? l.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "")
            : [];
        var containers = spec.ValueKind == JsonValueKind.Object && spec.TryGetProperty("containers", out var cs)
            ? cs.EnumerateArray().Select(c => (c.GetProperty("name").GetString() ?? "",
                c.TryGetProperty("command", out var cmd) && cmd.GetArrayLength() > 0 ? cmd[0].GetString() ?? "" : "")).ToList()
            : [];
        var terminating = meta.TryGetProperty("deletionTimestamp", out var deleted) && deleted.ValueKind == JsonValueKind.String;
        // A pod being deleted keeps its Ready condition until the kubelet has stopped it: it is no target any more.
        var ready = !terminating && status.ValueKind == JsonValueKind.Object && status.TryGetProperty("conditions", out var conditions)
            && conditions.EnumerateArray().Any(c => c.GetProperty("type").GetString() == "Ready" && c.GetProperty("status").GetString() == "True");
        var phaseText = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("phase", out var phase) ? phase.GetString() ?? "Pending" : "Pending";
        var waiting = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("containerStatuses", out var waitingStatuses)
            ? waitingStatuses.EnumerateArray().Select(c => c.TryGetProperty("state", out var state) && state.TryGetProperty("waiting", out var w) && w.TryGetProperty("reason", out var reason) ? reason.GetString() : null)
                .FirstOrDefault(r => !string.IsNullOrEmpty(r))
            : null;
        var restarts = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("containerStatuses", out var statuses)
            ? statuses.EnumerateArray().Sum(c => c.TryGetProperty("restartCount", out var n) ? n.GetInt32() : 0)
            : 0;
        var probes = spec.ValueKind == JsonValueKind.Object && spec.TryGetProperty("containers", out var specs)
            ? specs.EnumerateArray().Where(c => c.TryGetProperty("livenessProbe", out var p) && p.ValueKind == JsonValueKind.Object)
                .ToDictionary(c => c.GetProperty("name").GetString() ?? "", c => LivenessProbe.Parse(c.GetProperty("livenessProbe")))
            : [];
        return new PodInfo(
            meta.GetProperty("name").GetString() ?? "",
            meta.TryGetProperty("namespace", out var ns) ? ns.GetString() ?? "" : "",
            phaseText,
            ready,
            restarts,
            meta.TryGetProperty("creationTimestamp", out var created) ? DateTimeOffset.Parse(created.GetString()!, CultureInfo.InvariantCulture) : DateTimeOffset.MinValue,
            spec.ValueKind == JsonValueKind.Object && spec.TryGetProperty("nodeName", out var node) ? node.GetString() ?? "" : "",
            labels,
            containers,
            meta.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object && a.TryGetProperty("kubectl.kubernetes.io/default-container", out var d) ? d.GetString() : null)
        {
            LivenessProbes = probes,
            ShareProcessNamespace = spec.ValueKind == JsonValueKind.Object && spec.TryGetProperty("shareProcessNamespace", out var share) && share.ValueKind == JsonValueKind.True,
            Terminating = terminating,
            Status = terminating ? "Terminating" : waiting ?? phaseText,
        };
    }
}
