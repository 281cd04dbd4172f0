using Wand.Errors;

namespace Wand.Transport.Containers;

/// <summary>Thrown when no installed runtime knows the container; lists the running ones.</summary>
public sealed class ContainerNotFoundException(string name, IReadOnlyList<string> running, IReadOnlyList<string> runtimeProblems)
    : WandException(ExitCodes.ProcessNotFound,
        $"no container named {name}" + (running.Count == 0 ? " (no containers are running)" : $"; running: {string.Join(", ", running)}")
        + (runtimeProblems.Count == 0 ? "" : $" (also: {string.Join("; ", runtimeProblems)})"),
        "pass the name or ID shown by `podman ps` / `docker ps`");
