using Wand.Discovery;
using Wand.Errors;

namespace Wand.Transport.Kubernetes;

/// <summary>
/// Which container of a pod runs the user's Python, decided by what runs in each (<see cref="ContainerLook"/>),
/// not by its name, position or command: PID 1 may be a shell, tini, dumb-init or `uv run` with Python
/// as its child, sidecars may come first, and with shareProcessNamespace PID 1 is the pod's pause.
/// Init and ephemeral containers are not in spec.containers and are never considered.
/// </summary>
public static class ContainerChoice
{
    /// <summary>Containers that never run the user's Python: Knative's and service meshes' sidecars (one that seems to is still passed over for another).</summary>
    public static readonly IReadOnlySet<string> Sidecars = new HashSet<string>(["queue-proxy", "istio-proxy", "linkerd-proxy", "envoy", "cloud-sql-proxy"]);

    /// <summary>The container the user asked for, which must exist; null when none was asked for.</summary>
    public static string? Requested(PodInfo pod, string? requested)
    {
        if (requested is null) return null;
        var names = pod.Containers.Select(c => c.Name).ToList();
        return names.Contains(requested) ? requested
            : throw new WandException(ExitCodes.KubeNotFound, $"pod {pod.Name} has no container {requested}; its containers: {string.Join(", ", names)}",
                remedy: new Remedy(RemedyKind.NameContainer, Names: (names.FirstOrDefault(n => !Sidecars.Contains(n)) ?? names.FirstOrDefault()) is { } likely ? [likely] : null));
    }

    /// <summary>
    /// The container that runs Python: the only one (sidecars that seem to run Python are passed over
    /// for one that is not a sidecar); kubectl's default-container annotation when it runs Python;
    /// Knative's user-container. Two that run Python are ambiguous: the error lists them with their
    /// Python processes. When no look saw Python (no interpreter to look with, exec refused), the spec
    /// decides as kubectl would (annotation, user-container, the only non-sidecar, a command naming Python).
    /// </summary>
    public static string Choose(PodInfo pod, IReadOnlyList<ContainerLook> looks)
    {
        var names = pod.Containers.Select(c => c.Name).ToList();
        if (names.Count == 1) return names[0];
        var python = looks.Where(l => names.Contains(l.Container) && AppProcesses(l.Python).Count > 0).ToList();
        if (python.Any(l => !Sidecars.Contains(l.Container))) python = python.Where(l => !Sidecars.Contains(l.Container)).ToList();
        if (pod.DefaultContainer is { } annotated && python.Any(l => l.Container == annotated)) return annotated;
        if (python.Count == 1) return python[0].Container;
        if (python.Count > 1)
        {
            if (pod.IsKnative && python.Any(l => l.Container == "user-container")) return "user-container";
            throw new WandException(ExitCodes.Usage,
                $"pod {pod.Name} has {python.Count} containers that run Python: {string.Join("; ", python.Select(l => $"{l.Container} ({string.Join(", ", AppProcesses(l.Python).Select(p => $"PID {p.Pid} {string.Join(' ', p.CommandLine)}"))})"))}",
                remedy: new Remedy(RemedyKind.NameContainer, Names: [.. python.Select(l => l.Container)]));
        }
        return FromSpec(pod) ?? throw new WandException(ExitCodes.Usage,
            $"no container of pod {pod.Name} was seen running Python ({string.Join("; ", looks.Select(l => $"{l.Container}: {l.Error ?? "no Python process"}"))})",
            remedy: new Remedy(RemedyKind.NameContainer));
    }

    /// <summary>
    /// The app's processes among a container's: PID 1 and what it started, and with shareProcessNamespace
    /// (where the container's first process has parent 0 and is not PID 1) the longest-running root. A
    /// `kubectl exec` beside the app (a probe, someone's python -c) has parent 0 too, and started later.
    /// </summary>
    public static IReadOnlyList<PythonProcess> AppProcesses(IReadOnlyList<PythonProcess> all)
    {
        var oldest = all.Count == 0 ? null : all.MaxBy(p => p.Uptime);
        return all.Where(p => p.ParentPid != 0 || p.Pid == 1 || p == oldest).ToList();
    }

    /// <summary>The spec's answer when nothing was seen: the annotation, Knative's user-container, the only non-sidecar, the only command naming Python.</summary>
    private static string? FromSpec(PodInfo pod)
    {
        var names = pod.Containers.Select(c => c.Name).ToList();
        if (pod.DefaultContainer is { } annotated && names.Contains(annotated)) return annotated;
        if (pod.IsKnative && names.Contains("user-container")) return "user-container";
        var candidates = pod.Containers.Where(c => !Sidecars.Contains(c.Name)).ToList();
        if (candidates.Count == 1) return candidates[0].Name;
        var python = candidates.Where(c => Path.GetFileName(c.Entry) is var e && (e.Contains("python", StringComparison.Ordinal) || e is "uvicorn" or "gunicorn" or "fastapi" or "flask")).ToList();
        return python.Count == 1 ? python[0].Name : null;
    }
}
