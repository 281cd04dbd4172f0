namespace Wand.Transport.Containers;

/// <summary>What <c>inspect</c> says about a container.</summary>
/// <param name="HostPid">PID of the container's first process as this machine sees it (0 when stopped).</param>
public sealed record ContainerInfo(ContainerRuntime Runtime, string Id, string Name, bool Running, string Status, int HostPid, string EntryPath = "")
{
    public string ShortId => Id.Length > 12 ? Id[..12] : Id;
    public string RuntimeName => Runtime.ToString().ToLowerInvariant();
}
