namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>A pod of the test Kubernetes API server: its name and the real podman container behind each of its containers.</summary>
public sealed record KubePod(string Name, IReadOnlyDictionary<string, TestContainer> Containers)
{
    /// <summary>The only (or first) container.</summary>
    public TestContainer Main => Containers.Values.First();
}
