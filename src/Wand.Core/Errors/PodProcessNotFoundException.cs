namespace Wand.Errors;

/// <summary>Thrown when a PID named for a pod is none of the Python processes in it; the CLI says how to list them.</summary>
public sealed class PodProcessNotFoundException(int pid, string place, string @namespace, string pod)
    : WandException(ExitCodes.ProcessNotFound, $"no Python process with PID {pid} in {place}", $"list the Python processes of pod {pod}")
{
    public string Namespace { get; } = @namespace;

    public string Pod { get; } = pod;
}
