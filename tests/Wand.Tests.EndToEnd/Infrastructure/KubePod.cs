namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>A pod of the test Kubernetes API server: its name, the real podman container behind each of its containers, and the podman pod they share (null: a single container of its own).</summary>
public sealed record KubePod(string Name, IReadOnlyDictionary<string, TestContainer> Containers, string? PodmanPod = null)
{
    /// <summary>The only (or first) container.</summary>
    public TestContainer Main => Containers.Values.First();
}
