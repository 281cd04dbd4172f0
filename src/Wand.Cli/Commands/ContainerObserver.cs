using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Injection.Debugpy;
using Wand.Session;
using Wand.Transport.Containers;

namespace Wand.Cli.Commands;

/// <summary>Prints what a container debug session does: the connection details once, a line for every re-injection.</summary>
internal sealed class ContainerObserver(IUserInterface ui, ContainerInfo container, IContainerRoute route, bool json) : ContainerDebugSession.IObserver
{
    public void Attached(DebugpyEndpoint endpoint, int pid, int localPort, bool first)
    {
        var inside = route.PidInside(pid);
        if (json)
        {
            var line = new JsonObject
            {
                ["event"] = first ? "attached" : "reattached",
                ["container"] = container.Name,
                ["route"] = route.Name,
                ["pid"] = pid,
                ["pidInside"] = inside,
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
            ui.Info($"debugpy re-injected into PID {inside} of {container.Name}; 127.0.0.1:{localPort} reaches it. Reconnect your editor.");
        }
    }

    public void Problem(string message) => ui.Warn(message);
}
