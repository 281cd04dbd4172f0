using Wand.Transport.Exec;

namespace Wand.Transport.Kubernetes;

/// <summary>
/// A container of a pod, reached through <c>kubectl exec -i POD -c CONTAINER -- ...</c> (stdin carries
/// wand's scripts). A session moves it to the replacement pod when its pod goes away (<see cref="PodRoute"/>).
/// </summary>
public sealed class PodExecTarget(KubectlClient kubectl, PodInfo pod, string container) : IExecTarget
{
    private (PodInfo Pod, string Container) _current = (pod, container);

    public KubectlClient Kubectl => kubectl;
    public PodInfo Pod => _current.Pod;
    public string Container => _current.Container;
    public string Description => $"pod {Pod.Name} (container {Container})";
    public string Verb => "kubectl exec";
    public string Program => KubectlClient.Program;

    /// <summary>
    /// The pod spec's command, when it names one: it tells whether PID 1 is Python. Not with
    /// shareProcessNamespace, where PID 1 is the pod's pause (which, run as an interpreter, would wait for ever).
    /// </summary>
    public string EntryPath
    {
        get
        {
            var (p, c) = _current;
            return p.ShareProcessNamespace ? "" : p.Containers.FirstOrDefault(x => x.Name == c).Entry ?? "";
        }
    }

    public IReadOnlyList<string> ExecArguments(IReadOnlyList<string> command)
    {
        var (p, c) = _current;
        return (kubectl with { Namespace = p.Namespace.Length > 0 ? p.Namespace : kubectl.Namespace }).Arguments(["exec", "-i", p.Name, "-c", c, "--", .. command]);
    }

    /// <summary>
    /// <c>kubectl port-forward pod/NAME :REMOTE --address 127.0.0.1</c> for the current pod: kubectl
    /// chooses the local port and says which on its first line.
    /// </summary>
    public IReadOnlyList<string> PortForwardArguments(int remotePort)
    {
        var p = _current.Pod;
        return (kubectl with { Namespace = p.Namespace.Length > 0 ? p.Namespace : kubectl.Namespace })
            .Arguments(["port-forward", "pod/" + p.Name, ":" + remotePort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--address", "127.0.0.1"]);
    }

    /// <summary>From now on, commands run in <paramref name="next"/>'s <paramref name="nextContainer"/>.</summary>
    public void MoveTo(PodInfo next, string nextContainer) => _current = (next, nextContainer);
}
