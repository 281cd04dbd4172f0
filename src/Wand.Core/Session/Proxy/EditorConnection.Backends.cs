using System.Globalization;
using System.Text.Json.Nodes;
using Wand.Session.Dap;

namespace Wand.Session.Proxy;

/// <summary>The backend side of a single-process or child session: links started, lost and replaced, and what they send.</summary>
internal sealed partial class EditorConnection
{
    /// <summary>The threads the editor was told about on the current link: each gets a <c>thread exited</c> when the link is lost.</summary>
    private readonly HashSet<int> _liveThreads = [];

    private ReplayKind NextReplayKind() =>
        _handshake is Handshake.AttachSent or Handshake.Attached or Handshake.Detaching ? ReplayKind.Full
        : _handshake == Handshake.Initialized ? ReplayKind.Initialize
        : ReplayKind.None;

    private void StartLink(ProxyBackend backend, ReplayKind kind)
    {
        _liveThreads.Clear();
        var link = _links.Start(backend, _configuration.Plan(kind));
        _ids.Describe(link.Generation, backend.Description);
    }

    private async Task OnLinkReadyAsync(BackendLink link, JsonObject? capabilities, ReplayKind kind)
    {
        if (!_links.IsCurrent(link)) return;
        if (capabilities is not null)
        {
            _proxy.Capabilities = capabilities;
            OnInitializeAnswered();
        }
        _links.MarkLive(); // no longer waiting for a backend
        if (kind == ReplayKind.Full)
        {
            var armed = _options.Time.GetElapsedTime(link.Backend.AddedAt);
            _progress.Step($"wand proxy: {Name} continues on {link.Backend.Description}: breakpoints armed {armed.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms after it was added");
            await _editor.SendAsync(ProxyMessages.Output($"wand: now debugging {link.Backend.Description}; breakpoints are set again"));
        }
        await FlushHeldAsync();
    }

    private async Task OnLinkFailedAsync(BackendLink link, string why)
    {
        if (!_links.IsCurrent(link)) return;
        _progress.Step($"wand proxy: {Name} could not use {link.Backend.Description}: {why}");
        _links.MarkFailed(link.Backend);
        await LoseLinkAsync($"wand could not debug {link.Backend.Description} ({why})");
    }

    private async Task OnLinkClosedAsync(BackendLink link, string reason)
    {
        if (!_links.IsCurrent(link)) return;
        _links.MarkFailed(link.Backend);
        await LoseLinkAsync($"{link.Backend.Description} went away: {reason}");
    }

    private async Task OnBackendAddedAsync(ProxyBackend backend)
    {
        if (Closing) return;
        switch (_mode)
        {
            case Mode.Root or Mode.RootConfigured:
                await AnnounceAsync(backend);
                break;
            case Mode.Pending or Mode.Single when _links.State == LinkState.None && (InitializeAnswered || _configuration.Initialize is not null):
                StartLink(backend, NextReplayKind()); // a held initialize goes through once connected
                break;
        }
    }

    private async Task OnBackendRemovedAsync(ProxyBackend backend, string reason)
    {
        if (Closing) return;
        if (IsRoot)
        {
            ForgetAnnouncement(backend.Key);
            return;
        }
        if (_links.Current is { } link && ReferenceEquals(link.Backend, backend))
        {
            _links.MarkFailed(backend);
            await LoseLinkAsync($"{backend.Description} went away ({reason})");
        }
    }

    /// <summary>
    /// The backend is gone: answer what it will never answer, tell the editor its threads exited, and
    /// continue on the next backend (single process) or end (child session).
    /// </summary>
    private async Task LoseLinkAsync(string what)
    {
        var link = _links.Drop()!;
        _progress.Step($"wand proxy: {Name}: {what}");
        _ = link.DisposeAsync().AsTask();
        if (_handshake == Handshake.Detaching)
        {
            // The editor was leaving: a process that went away meanwhile is detached all the same.
            foreach (var request in link.Unanswered.Where(r => r.Command == "disconnect"))
                await _editor.SendAsync(ProxyMessages.Response(request.EditorSeq, request.Command));
            await CloseAsync("the editor disconnected");
            return;
        }
        foreach (var request in link.Unanswered)
            await _editor.SendAsync(ProxyMessages.Error(request.EditorSeq, request.Command, $"{link.Backend.Description} went away before answering (the process was replaced or exited)"));
        foreach (var thread in _liveThreads.Order().ToList()) await _editor.SendAsync(ProxyMessages.ThreadExited(thread));
        _liveThreads.Clear();
        if (_mode == Mode.Child)
        {
            await _editor.SendAsync(ProxyMessages.Output($"wand: {what}"));
            await EndAsync(what);
            return;
        }
        if (_links.Pick(_proxy) is { } next)
        {
            await _editor.SendAsync(ProxyMessages.Output($"wand: {what}; continuing on {next.Description}"));
            StartLink(next, NextReplayKind());
            return;
        }
        await _editor.SendAsync(ProxyMessages.Output($"wand: {what}; waiting up to {ProxyMessages.Seconds(_options.BackendWaitTimeout)} s for the next process (this debug session stays open)"));
        _links.WaitForBackend(what);
    }

    private async Task OnBackendWaitExpiredAsync(long epoch, string reason)
    {
        if (!_links.IsWaiting(epoch) || _links.State != LinkState.None || _mode is Mode.Ended or Mode.Root or Mode.RootConfigured) return;
        var text = $"no process to debug came back within {ProxyMessages.Seconds(_options.BackendWaitTimeout)} s ({reason}); wand ends this debug session";
        _progress.Step($"wand proxy: {Name}: {text}");
        await _editor.SendAsync(ProxyMessages.Output($"wand: {text}"));
        await EndAsync(text);
    }

    private async Task OnBackendMessageAsync(BackendLink link, JsonObject message, BackendLink.EditorRequest? request)
    {
        if (!_links.IsCurrent(link) || Closing) return;
        switch (DapJson.String(message, "type"))
        {
            case "response" when request is not null:
                await RelayResponseAsync(link, message, request);
                break;
            case "event":
                await RelayEventAsync(link, message);
                break;
            case "request":
                // Reverse requests from the debuggee's side are refused: debugpy sends runInTerminal (launch
                // only) and startDebugging (subprocesses), and wand forwards neither.
                var command = DapJson.String(message, "command") ?? "?";
                _progress.Step($"wand proxy: refused the reverse request '{command}' from {link.Backend.Description}");
                if (DapJson.TryInt(message, "seq", out var seq))
                {
                    try
                    {
                        await link.SendResponseAsync(ProxyMessages.Error(seq, command, $"wand does not forward the reverse request '{command}' to the editor"));
                    }
                    catch (DapConnectionClosedException)
                    {
                        // gone meanwhile; its end is reported separately
                    }
                }
                break;
        }
    }

    private async Task RelayResponseAsync(BackendLink link, JsonObject response, BackendLink.EditorRequest request)
    {
        response["request_seq"] = request.EditorSeq;
        var success = DapJson.Bool(response, "success");
        if (response["body"] is JsonObject body)
        {
            _ids.ToEditor(body, link.Generation, request.Command);
            if (success && request.Command == "initialize")
            {
                _proxy.Capabilities = body;
                OnInitializeAnswered();
            }
            if (success && request.Command == "setBreakpoints" && request.SourceKey is { } key) _configuration.Remember(key, body);
            if (success && request.Command == "threads")
                foreach (var thread in DapJson.Objects(body, "threads"))
                    if (DapJson.Int(thread, "id") is { } id) _liveThreads.Add(id);
        }
        // The slot is free before the editor hears that it disconnected, so an editor it starts next is never refused.
        if (request.Command == "disconnect") _proxy.Release(this);
        await _editor.SendAsync(response);
        if (request.Command == "disconnect") await CloseAsync("the editor disconnected");
    }

    private async Task RelayEventAsync(BackendLink link, JsonObject message)
    {
        var name = DapJson.String(message, "event");
        var body = message["body"] as JsonObject;
        if (body is not null) _ids.EventToEditor(name, body, link.Generation);
        switch (name)
        {
            case "terminated" or "exited" when _mode != Mode.Child:
                // The process ended, not the editor's session: it continues on the next process.
                return;
            case "terminated":
                if (!_editor.ClaimTerminated()) return;
                break;
            case "thread" when body is not null && DapJson.Int(body, "threadId") is { } thread:
                if (DapJson.String(body, "reason") == "exited") _liveThreads.Remove(thread);
                else _liveThreads.Add(thread);
                break;
            case "stopped" when body is not null && DapJson.Int(body, "threadId") is { } stopped:
                _liveThreads.Add(stopped);
                break;
        }
        await _editor.SendAsync(message);
    }

    /// <summary>
    /// A replayed setBreakpoints was answered by the new backend: its breakpoints get the ids the editor
    /// already knows (same source, same position), and the editor hears of each whose verification changed.
    /// </summary>
    private async Task OnReplayedBreakpointsAsync(BackendLink link, JsonObject arguments, JsonObject body)
    {
        if (!_links.IsCurrent(link) || arguments["source"] is not JsonObject source) return;
        var key = EditorConfiguration.SourceKey(source);
        var known = _configuration.Told(key);
        var breakpoints = DapJson.Objects(body, "breakpoints").ToList();
        for (var i = 0; i < breakpoints.Count; i++)
        {
            var breakpoint = breakpoints[i];
            _ids.ToEditor(breakpoint, link.Generation, null); // its source's references, if any
            var backendId = DapJson.Int(breakpoint, "id");
            int? editorId = i < known.Count ? known[i].Id : null;
            if (editorId is { } id && backendId is { } fromBackend) _ids.AliasBreakpoint(link.Generation, fromBackend, id);
            else if (backendId is { } fresh) editorId = _ids.EditorBreakpointId(link.Generation, fresh);
            if (editorId is null) continue;
            breakpoint["id"] = editorId;
            if (i >= known.Count || known[i].Verified == DapJson.Bool(breakpoint, "verified")) continue; // nothing new to the editor
            await _editor.SendAsync(ProxyMessages.Event("breakpoint", new JsonObject { ["reason"] = "changed", ["breakpoint"] = breakpoint.DeepClone() }));
        }
        _configuration.Remember(key, body);
    }

    /// <summary>The link's reports, posted to this connection's work queue.</summary>
    private sealed class LinkEvents(EditorConnection owner) : ILinkObserver
    {
        public void OnMessage(BackendLink link, JsonObject message, BackendLink.EditorRequest? request) =>
            owner.Post(() => owner.OnBackendMessageAsync(link, message, request));

        public void OnClosed(BackendLink link, string reason) => owner.Post(() => owner.OnLinkClosedAsync(link, reason));

        public void OnReplayedBreakpoints(BackendLink link, JsonObject arguments, JsonObject body) =>
            owner.Post(() => owner.OnReplayedBreakpointsAsync(link, arguments, body));

        public void OnReady(BackendLink link, JsonObject? capabilities, ReplayKind kind) => owner.Post(() => owner.OnLinkReadyAsync(link, capabilities, kind));

        public void OnFailed(BackendLink link, string why) => owner.Post(() => owner.OnLinkFailedAsync(link, why));

        public void OnWaitExpired(long epoch, string reason) => owner.Post(() => owner.OnBackendWaitExpiredAsync(epoch, reason));
    }
}
