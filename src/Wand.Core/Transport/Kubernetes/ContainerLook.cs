using Wand.Discovery;

namespace Wand.Transport.Kubernetes;

/// <summary>What wand saw when it looked into one container of a pod (one `kubectl exec`): the container's own Python processes, or why it could not look.</summary>
/// <param name="Python">The container's own Python processes (with shareProcessNamespace, not the other containers'); empty when it runs none or could not be looked into.</param>
/// <param name="Error">Why nothing could be seen there (no interpreter to look with, exec refused), else null.</param>
public sealed record ContainerLook(string Container, IReadOnlyList<PythonProcess> Python, string? Error);
