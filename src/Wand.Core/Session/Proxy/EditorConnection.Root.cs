using System.Text.Json.Nodes;
using Wand.Session.Dap;

namespace Wand.Session.Proxy;

/// <summary>The root session of an editor that supports <c>startDebugging</c>: each backend becomes a child session.</summary>
internal sealed partial class EditorConnection
{
    private readonly Dictionary<int, string> _announcing = [];
    private readonly HashSet<string> _announced = new(StringComparer.Ordinal);

    private async Task BecomeRootAsync(int attachSeq)
    {
        _mode = Mode.Root;
        // It only served initialize; the children connect on their own. debugpy serves one client at a
        // time: this one says goodbye and is gone before any child can connect to the same process.
        if (_links.Drop() is { } link) await link.CloseAsync(detach: true, _options.Time);
        _progress.Step($"wand proxy: {Name} is a parent session; each process becomes a child session");
        await _editor.SendAsync(ProxyMessages.Response(attachSeq, "attach"));
        await _editor.SendAsync(ProxyMessages.Event("initialized"));
    }

    /// <summary>
    /// What the root session answers: configuration is accepted (each child gets the editor's own
    /// breakpoints from the editor itself), <c>threads</c> is empty, everything else is refused with a
    /// message that points at the child sessions.
    /// </summary>
    private async Task HandleRootRequestAsync(int seq, string command, JsonObject? arguments)
    {
        switch (command)
        {
            case "setBreakpoints" or "setFunctionBreakpoints":
                _configuration.Record(command, arguments);
                await _editor.SendAsync(ProxyMessages.Response(seq, command, ProxyMessages.Unverified(arguments, "set in each process's own session", null)));
                break;
            case "setExceptionBreakpoints":
                _configuration.Record(command, arguments);
                await _editor.SendAsync(ProxyMessages.Response(seq, command));
                break;
            case "configurationDone":
                _configuration.Record(command, arguments);
                await _editor.SendAsync(ProxyMessages.Response(seq, command));
                _mode = Mode.RootConfigured;
                foreach (var backend in _proxy.BackendSnapshot()) await AnnounceAsync(backend);
                break;
            case "threads":
                await _editor.SendAsync(ProxyMessages.Response(seq, command, new JsonObject { ["threads"] = new JsonArray() }));
                break;
            case "terminate":
                await _editor.SendAsync(ProxyMessages.Response(seq, command));
                await _editor.SendTerminatedAsync();
                break;
            case "disconnect":
                await _editor.SendAsync(ProxyMessages.Response(seq, command));
                await CloseAsync("the editor disconnected its parent session");
                break;
            default:
                await _editor.SendAsync(ProxyMessages.Error(seq, command,
                    "this is wand's parent session, which has no threads of its own: use the session of one of its processes"));
                break;
        }
    }

    /// <summary>Asks the editor to open a child session for <paramref name="backend"/> (once per backend).</summary>
    private async Task AnnounceAsync(ProxyBackend backend)
    {
        if (_mode != Mode.RootConfigured || !_announced.Add(backend.Key)) return;
        var configuration = _configuration.Attach?.DeepClone().AsObject() ?? [];
        configuration["name"] = backend.Description;
        configuration["request"] = "attach";
        configuration[BackendMarker] = backend.Key;
        var seq = await _editor.SendAsync(ProxyMessages.Request("startDebugging", new JsonObject { ["request"] = "attach", ["configuration"] = configuration }));
        _announcing[seq] = backend.Key;
    }

    private void ForgetAnnouncement(string key) => _announced.Remove(key);

    private async Task OnRootReverseResponseAsync(JsonObject response)
    {
        if (!DapJson.TryInt(response, "request_seq", out var requestSeq) || !_announcing.Remove(requestSeq, out var key)) return;
        if (DapJson.Bool(response, "success")) return;
        var why = DapJson.String(response, "message") ?? "no reason given";
        _announced.Remove(key);
        _progress.Step($"wand proxy: the editor did not open a session for {key}: {why}");
        await _editor.SendAsync(ProxyMessages.Output($"wand: the editor did not open a session for {key}: {why}"));
    }
}
