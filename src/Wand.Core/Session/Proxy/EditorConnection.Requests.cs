using System.Text.Json.Nodes;
using Wand.Session.Dap;

namespace Wand.Session.Proxy;

/// <summary>
/// The editor's requests in a single-process or child session: forwarded to the live backend (ids translated),
/// held while its link connects or replays, or answered here between two processes.
/// </summary>
internal sealed partial class EditorConnection
{
    /// <summary>Sends the attach to <paramref name="backend"/>, connecting to it first (replaying initialize) if needed.</summary>
    private async Task BindAsync(ProxyBackend backend, JsonObject request, int seq)
    {
        if (_links.Current is { } link && ReferenceEquals(link.Backend, backend))
        {
            if (_links.State == LinkState.Live) await ForwardAsync(request, seq, "attach");
            else _held.Add(request, seq, "attach");
            return;
        }
        if (_links.Drop() is { } other) _ = other.CloseAsync(detach: false, _options.Time);
        StartLink(backend, ReplayKind.Initialize);
        _held.Add(request, seq, "attach");
    }

    private async Task OnDisconnectAsync(JsonObject request, int seq, JsonObject? arguments)
    {
        if (_links.Live is not null)
        {
            // Forced: whatever the editor asks, the app keeps running and debugpy keeps listening.
            var detach = arguments?.DeepClone().AsObject() ?? [];
            detach["terminateDebuggee"] = false;
            detach["suspendDebuggee"] = false;
            detach["restart"] = false;
            request["arguments"] = detach;
            _handshake = Handshake.Detaching;
            await ForwardAsync(request, seq, "disconnect");
            // The connection closes when the answer is relayed; if none comes, it closes anyway.
            _ = Task.Delay(TimeSpan.FromSeconds(5), _options.Time, _closed.Token).ContinueWith(
                t => { if (!t.IsCanceled) PostClose("the editor disconnected (debugpy did not answer)"); }, TaskScheduler.Default);
            return;
        }
        _proxy.Release(this);
        await _editor.SendAsync(ProxyMessages.Response(seq, "disconnect"));
        await CloseAsync("the editor disconnected");
    }

    /// <summary>
    /// <c>cancel</c> names an editor sequence number: a request still held here is answered as cancelled;
    /// one sent to the backend is cancelled under the backend's number; anything else is already answered.
    /// </summary>
    private async Task OnCancelAsync(JsonObject request, int seq, JsonObject arguments, int cancelled)
    {
        if (_held.TakeBySeq(cancelled) is { } held)
        {
            await _editor.SendAsync(ProxyMessages.Error(held.Seq, held.Command, "cancelled"));
            await _editor.SendAsync(ProxyMessages.Response(seq, "cancel"));
            return;
        }
        if (_links.Live is { } link && link.BackendSeqOf(cancelled) is { } backendSeq)
        {
            arguments["requestId"] = backendSeq;
            await ForwardAsync(request, seq, "cancel");
            return;
        }
        await _editor.SendAsync(ProxyMessages.Response(seq, "cancel"));
    }

    /// <summary>Records what is replayed later, then forwards, holds, or answers the request itself while there is no backend.</summary>
    private async Task RouteAsync(JsonObject request, int seq, string command, JsonObject? arguments)
    {
        _configuration.Record(command, arguments);
        switch (_links.State)
        {
            case LinkState.Live:
                await ForwardAsync(request, seq, command);
                return;
            case LinkState.Connecting:
                _held.Add(request, seq, command); // connecting or replaying: in order, right after
                return;
        }
        if (!InitializeAnswered)
        {
            await _editor.SendAsync(ProxyMessages.Error(seq, command, "send initialize first"));
            return;
        }
        // Between two processes: what is configuration is kept for the next one and answered here.
        switch (command)
        {
            case "setBreakpoints":
                var pending = ProxyMessages.Unverified(arguments, "set again as soon as the next process is attached", _ids.NewBreakpointId);
                if (arguments?["source"] is JsonObject source) _configuration.Remember(EditorConfiguration.SourceKey(source), pending);
                await _editor.SendAsync(ProxyMessages.Response(seq, command, pending));
                return;
            case "setFunctionBreakpoints":
                await _editor.SendAsync(ProxyMessages.Response(seq, command, ProxyMessages.Unverified(arguments, "set again as soon as the next process is attached", null)));
                return;
            case "setExceptionBreakpoints":
            case "configurationDone":
                await _editor.SendAsync(ProxyMessages.Response(seq, command));
                return;
            case "threads":
                await _editor.SendAsync(ProxyMessages.Response(seq, command, new JsonObject { ["threads"] = new JsonArray() }));
                return;
        }
        if (arguments is not null && _ids.RefuseWithoutBackend(arguments.DeepClone().AsObject()) is { } why)
        {
            await _editor.SendAsync(ProxyMessages.Error(seq, command, why));
            return;
        }
        _held.Add(request, seq, command);
    }

    /// <summary>Sends an editor request to the live backend under the link's own sequence number, its ids translated.</summary>
    private async Task ForwardAsync(JsonObject request, int seq, string command)
    {
        if (_links.Live is not { } link)
        {
            _held.Add(request, seq, command);
            return;
        }
        var sourceKey = command == "setBreakpoints" && request["arguments"]?["source"] is JsonObject source ? EditorConfiguration.SourceKey(source) : null;
        if (request["arguments"] is JsonObject arguments)
        {
            if (_ids.ToBackend(arguments, link.Generation) is { } why)
            {
                await _editor.SendAsync(ProxyMessages.Error(seq, command, why));
                return;
            }
            if (command == "initialize") request["arguments"] = BackendLink.ForBackend(arguments);
            if (command == "attach") request["arguments"] = BackendLink.AttachForBackend(arguments);
        }
        if (command == "attach") OnAttachForwarded();
        try
        {
            await link.SendEditorRequestAsync(request, new BackendLink.EditorRequest(seq, command, sourceKey));
        }
        catch (DapConnectionClosedException)
        {
            // The link's end is on its way to this queue too; this request is answered now.
            if (command == "disconnect") await _editor.SendAsync(ProxyMessages.Response(seq, command)); // detached all the same
            else await _editor.SendAsync(ProxyMessages.Error(seq, command, $"{link.Backend.Description} went away before answering"));
        }
    }

    private void OnInitializeAnswered() => _handshake = _handshake switch
    {
        Handshake.None => Handshake.Initialized,
        Handshake.AttachSent => Handshake.Attached,
        var unchanged => unchanged,
    };

    private void OnAttachForwarded() => _handshake = _handshake switch
    {
        Handshake.None => Handshake.AttachSent,
        Handshake.Initialized => Handshake.Attached,
        var unchanged => unchanged,
    };

    private async Task ExpireAsync(long id)
    {
        if (_held.Take(id) is not { } held) return;
        await _editor.SendAsync(ProxyMessages.Error(held.Seq, held.Command,
            $"no process could answer within {ProxyMessages.Seconds(_options.RequestWaitTimeout)} s: the debugged process is being replaced"));
    }

    private async Task FlushHeldAsync()
    {
        foreach (var held in _held.TakeAll())
        {
            if (_links.Live is null || Closing)
            {
                _held.PutBack(held); // lost again meanwhile: still waiting, under its first deadline
                continue;
            }
            if (held.Command is "initialize" or "attach") await ForwardAsync(held.Request, held.Seq, held.Command);
            else await HandleRequestAsync(held.Request, held.Seq, held.Command);
        }
    }
}
