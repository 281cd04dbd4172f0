using System.Text.Json;
using Wand.Errors;

namespace Wand.Transport.Kubernetes;

/// <summary>
/// Which pods a user means: those behind a Service (its selector; for a Knative Service, whose
/// Kubernetes Service is an ExternalName, the pods labelled serving.knative.dev/service), those of a
/// label selector, or one pod by name; then which one to debug (its container: <see cref="ContainerChoice"/>).
/// </summary>
public sealed class PodFinder(KubectlClient kubectl)
{
    public async Task<IReadOnlyList<PodInfo>> ByServiceAsync(string service, CancellationToken cancellationToken) =>
        await BySelectorAsync(await SelectorAsync(service, cancellationToken), cancellationToken);

    /// <summary>The label selector of the pods behind a service (a Knative Service: its service label).</summary>
    public async Task<string> SelectorAsync(string service, CancellationToken cancellationToken)
    {
        var svc = await kubectl.GetJsonAsync(["services", service], cancellationToken);
        var spec = svc.GetProperty("spec");
        if (spec.TryGetProperty("selector", out var selector) && selector.ValueKind == JsonValueKind.Object && selector.EnumerateObject().Any())
            return string.Join(',', selector.EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}"));
        if (spec.TryGetProperty("type", out var type) && type.GetString() == "ExternalName")
        {
            // Knative's Service is an ExternalName Service; it is Knative only if pods carry its label.
            var knative = $"{PodInfo.KnativeServiceLabel}={service}";
            if ((await BySelectorAsync(knative, cancellationToken)).Count > 0) return knative;
            throw new WandException(ExitCodes.KubeNotFound,
                $"service {service} is an ExternalName service and no pod in {kubectl.NamespaceDescription} is labelled {PodInfo.KnativeServiceLabel}={service}",
                "if it is a Knative service scaled to zero, send it a request to start a pod, then retry", remedy: new Remedy(RemedyKind.NamePods));
        }
        throw new WandException(ExitCodes.KubeNotFound, $"service {service} has no selector, so no pods belong to it",
            remedy: new Remedy(RemedyKind.NamePods));
    }

    /// <summary>The pods of <paramref name="selector"/>; a Terminating pod (deletionTimestamp set) is never one of them.</summary>
    public async Task<IReadOnlyList<PodInfo>> BySelectorAsync(string selector, CancellationToken cancellationToken)
    {
        var list = await kubectl.GetJsonAsync(["pods", "-l", selector], cancellationToken);
        return list.GetProperty("items").EnumerateArray().Select(PodInfo.Parse).Where(p => !p.Terminating).ToList();
    }

    public async Task<PodInfo> ByNameAsync(string name, CancellationToken cancellationToken) =>
        PodInfo.Parse(await kubectl.GetJsonAsync(["pods", name.StartsWith("pod/", StringComparison.Ordinal) ? name[4..] : name], cancellationToken));

    /// <summary>
    /// The pod to debug: Ready ones only, the latest Knative revision first, then the newest by
    /// creation time (never by name: names are random).
    /// </summary>
    public static PodInfo ChooseNewestReady(IReadOnlyList<PodInfo> pods, string what)
    {
        if (pods.Count == 0)
            throw new WandException(ExitCodes.KubeNotFound, $"no pods behind {what}", "check the selector: kubectl get pods --show-labels");
        var ready = pods.Where(p => p.Ready).ToList();
        if (ready.Count == 0)
            throw new WandException(ExitCodes.KubeNotFound,
                $"no Ready pod behind {what}: {string.Join(", ", pods.Select(p => $"{p.Name} ({(p.Status.Length > 0 ? p.Status : p.Phase)}, not ready)"))}",
                "wait for a pod to become Ready (kubectl get pods -w)", remedy: new Remedy(RemedyKind.NamePods));
        return ready.OrderByDescending(RevisionGeneration).ThenByDescending(p => p.Created).First();
    }

    /// <summary>
    /// Whether <paramref name="candidate"/> belongs to a later rollout of the workload than <paramref name="current"/>:
    /// a later Knative revision, or another pod template (the Deployment's pod-template-hash, a
    /// StatefulSet's controller-revision-hash) and created later. A pod added by scaling the same
    /// revision up is not: a single-pod session stays where it is.
    /// </summary>
    public static bool IsNewerRollout(PodInfo candidate, PodInfo current)
    {
        var (a, b) = (RevisionGeneration(candidate), RevisionGeneration(current));
        if (a != b) return a > b;
        if (candidate.Revision != current.Revision) return candidate.Created > current.Created;
        foreach (var label in new[] { "pod-template-hash", "controller-revision-hash" })
            if (candidate.Labels.GetValueOrDefault(label) != current.Labels.GetValueOrDefault(label)) return candidate.Created > current.Created;
        return false;
    }

    /// <summary>
    /// A Knative revision's generation: the configurationGeneration label, else the number Knative puts
    /// at the end of revision names (hello-00002); 0 for pods outside Knative.
    /// </summary>
    private static long RevisionGeneration(PodInfo pod)
    {
        if (pod.Labels.TryGetValue("serving.knative.dev/configurationGeneration", out var g) && long.TryParse(g, out var generation)) return generation;
        var digits = new string((pod.Revision ?? "").Reverse().TakeWhile(char.IsAsciiDigit).Reverse().ToArray());
        return digits.Length is > 0 and < 18 ? long.Parse(digits, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }
}
