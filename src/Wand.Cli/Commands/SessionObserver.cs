using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Injection.Debugpy;
using Wand.Session;
using Wand.Transport;

namespace Wand.Cli.Commands;

/// <summary>
/// Prints what a debug session (local, container or pod) does: the connection details once, a line for every
/// re-injection; with --output json one event per line. The place can change during the session (a
/// replaced pod), so it is asked for at every event.
/// </summary>
/// <param name="place">JSON fields that name the place ({"container": ...} or {"namespace", "pod", "container"}) and its description for people.</param>
internal sealed class SessionObserver(IUserInterface ui, ITargetRoute route, Func<(JsonObject Fields, string Description)> place, bool json)
    : DebugSession.IObserver
{
    public void Attached(DebugpyEndpoint endpoint, int pid, int localPort, bool first)
    {
        var inside = route.PidInside(pid);
        var (fields, description) = place();
        if (json)
        {
            var line = new JsonObject { ["event"] = first ? "attached" : "reattached" };
            foreach (var (key, value) in fields) line[key] = value?.DeepClone();
            line["route"] = route.Name;
            line["pid"] = pid;
            line["pidInside"] = inside;
            line["localPort"] = localPort;
            line["endpoint"] = JsonSerializer.SerializeToNode(endpoint, CliJson.Default.DebugpyEndpoint);
            ui.Out.WriteLine(line.ToJsonString());
            ui.Out.Flush();
        }
        else if (first)
        {
            DebugCommand.Describe(ui, endpoint, localPort);
        }
        else
        {
            ui.Info($"debugpy injected into PID {inside} of {description}; the editor session on 127.0.0.1:{localPort} goes on there (no new attach needed)");
        }
    }

    public void Detached(int pid, string reason)
    {
        if (json)
        {
            ui.Out.WriteLine(new JsonObject { ["event"] = "detached", ["pid"] = pid, ["reason"] = reason }.ToJsonString());
            ui.Out.Flush();
        }
        else
        {
            ui.Info($"{reason}; the editor session waits for the next process");
        }
    }

    public void Problem(string message) => ui.Warn(message);
}
