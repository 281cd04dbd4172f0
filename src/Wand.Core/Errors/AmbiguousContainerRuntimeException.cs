namespace Wand.Errors;

/// <summary>Thrown when more than one container runtime has a container of that name; the CLI says how to choose.</summary>
public sealed class AmbiguousContainerRuntimeException(string container, IReadOnlyList<string> runtimes)
    : WandException(ExitCodes.Usage, $"both {string.Join(" and ", runtimes)} have a container named {container}", "choose the runtime")
{
    public string Container { get; } = container;

    /// <summary>The runtimes that have it (podman, docker).</summary>
    public IReadOnlyList<string> Runtimes { get; } = runtimes;
}
