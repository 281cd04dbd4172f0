namespace Wand.Transport.Containers;

/// <summary>A container engine wand drives through its own CLI (the same argv for both).</summary>
public enum ContainerRuntime
{
    Podman,
    Docker,
}
