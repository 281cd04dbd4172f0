namespace Wand.Transport.Exec;

/// <summary>
/// A place wand can run a program in through a CLI's exec with stdin attached: a container
/// (<c>podman exec -i</c>, <c>docker exec -i</c>) or a pod's container (<c>kubectl exec -i</c>).
/// Always argv arrays: names come from users and clusters.
/// </summary>
public interface IExecTarget
{
    /// <summary>For messages: "podman container web", "pod api-7d9 (container app)".</summary>
    string Description { get; }

    /// <summary>For messages: "podman exec", "kubectl exec".</summary>
    string Verb { get; }

    string Program { get; }

    /// <summary>The arguments after <see cref="Program"/> that run <paramref name="command"/> there with stdin attached.</summary>
    IReadOnlyList<string> ExecArguments(IReadOnlyList<string> command);

    /// <summary>The executable of the first process when known (it tells whether PID 1 is Python), else "".</summary>
    string EntryPath { get; }
}
