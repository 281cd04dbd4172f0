using Wand.Transport.Exec;

namespace Wand.Transport.Containers;

/// <summary>A local container reached through its runtime's <c>exec -i</c>.</summary>
public sealed class ContainerExecTarget(ContainerInfo container) : IExecTarget
{
    public string Description => $"{container.RuntimeName} container {container.Name}";
    public string Verb => $"{container.RuntimeName} exec";
    public string Program => ContainerLocator.Program(container.Runtime);
    public string EntryPath => container.EntryPath;

    public IReadOnlyList<string> ExecArguments(IReadOnlyList<string> command) => ["exec", "-i", container.Id, .. command];
}
