namespace Wand.Errors;

/// <summary>Thrown when none of the container runtimes wand knows is installed; the CLI says how to name one.</summary>
public sealed class NoContainerRuntimeException(IReadOnlyList<string> programs)
    : WandException(ExitCodes.Usage, $"no container runtime found ({string.Join(" or ", programs)} is not on PATH)", "install podman or docker")
{
    /// <summary>The programs looked for (podman, docker).</summary>
    public IReadOnlyList<string> Programs { get; } = programs;
}
