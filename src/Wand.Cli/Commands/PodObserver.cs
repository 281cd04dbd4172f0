using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Injection.Debugpy;
using Wand.Session;
using Wand.Transport.Kubernetes;

namespace Wand.Cli.Commands;

/// <summary>Prints what a pod debug session does: the connection details once, a line for every re-injection.
/// The target moves when its pod is replaced, so each event names the pod of that moment.</summary>
internal sealed class PodObserver(IUserInterface ui, PodExecTarget target, bool json) : ContainerDebugSession.IObserver
{
    public void Attached(DebugpyEndpoint endpoint, int pid, int localPort, bool first)
    {
        if (json)
        {
            var line = new JsonObject
            {
                ["event"] = first ? "attached" : "reattached",
                ["namespace"] = target.Pod.Namespace,
                ["pod"] = target.Pod.Name,
                ["container"] = target.Container,
                ["route"] = "kubectl exec",
                ["pid"] = pid,
                ["pidInside"] = pid,
                ["localPort"] = localPort,
                ["endpoint"] = JsonSerializer.SerializeToNode(endpoint, CliJson.Default.DebugpyEndpoint),
            };
            ui.Out.WriteLine(line.ToJsonString());
            ui.Out.Flush();
        }
        else if (first)
        {
            DebugCommand.Describe(ui, endpoint, localPort);
        }
        else
        {
            ui.Info($"debugpy re-injected into PID {pid} of {target.Description}; 127.0.0.1:{localPort} reaches it. Reconnect your editor.");
        }
    }

    public void Problem(string message) => ui.Warn(message);
}
