using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Wand.Progress;
using Wand.Session.Dap;

namespace Wand.Session.Proxy;

/// <summary>
/// One editor's TCP connection to the proxy and everything it is bound to: the backend link (single
/// process or child session) or, as a root session, nothing but the announcements of child sessions.
/// </summary>
/// <remarks>
/// All state changes run one at a time on this connection's work queue (<see cref="Post"/>): messages
/// from the editor, messages from the backend link, backends added and removed, and timers. Reading
/// the editor and the backend happens on their own loops, which only post; nothing here takes a lock.
/// The parts: what the editor configured (<see cref="EditorConfiguration"/>), the requests waiting for a
/// backend (<see cref="HeldRequests"/>), the backend link (<see cref="LinkSupervisor"/>, its events in
/// EditorConnection.Backends.cs), the writer (<see cref="EditorWriter"/>), and the root session (EditorConnection.Root.cs).
/// </remarks>
internal sealed partial class EditorConnection
{
    /// <summary>The attach-configuration key that binds a child session's connection to its backend.</summary>
    public const string BackendMarker = "__wandBackend";

    /// <summary>What kind of session the editor has; decided at its attach (or refusal), ended by <see cref="EndAsync"/> and <see cref="CloseAsync"/>.</summary>
    private enum Mode
    {
        /// <summary>Not attached yet.</summary>
        Pending,

        /// <summary>One process at a time: it moves to the next when its own goes away.</summary>
        Single,

        /// <summary>A child session bound to one backend (<see cref="ChildKey"/>): it ends with it.</summary>
        Child,

        /// <summary>A root session before its <c>configurationDone</c>: no child session is announced yet.</summary>
        Root,

        /// <summary>A root session that announces every backend as a child session.</summary>
        RootConfigured,

        /// <summary>Refused (a second editor): the connection is closing.</summary>
        Refused,

        /// <summary>The session ended (<c>terminated</c> sent); the connection stays until the editor disconnects.</summary>
        Ended,

        /// <summary>The connection is closed (or closing): nothing more is done for it.</summary>
        Closed,
    }

    /// <summary>How far the editor's handshake has got with the backends; it never goes back.</summary>
    private enum Handshake
    {
        /// <summary>No <c>initialize</c> answered, no <c>attach</c> forwarded: a new backend gets nothing replayed.</summary>
        None,

        /// <summary>The editor has its <c>initialize</c> answer: a new backend gets <c>initialize</c> replayed.</summary>
        Initialized,

        /// <summary>
        /// The <c>attach</c> was forwarded while the <c>initialize</c> answer is still on its way (both were held
        /// for the first backend and went out together): a new backend gets everything replayed.
        /// </summary>
        AttachSent,

        /// <summary>Initialize answered and attach forwarded: a new backend gets everything replayed.</summary>
        Attached,

        /// <summary>The editor's <c>disconnect</c> was forwarded: it is leaving, and the backend is not told to detach again.</summary>
        Detaching,
    }

    private readonly DapProxy _proxy;
    private readonly Stream _stream;
    private readonly Socket? _socket;
    private readonly DapProxyOptions _options;
    private readonly IProgressReporter _progress;
    private readonly Channel<Func<Task>> _work = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closed = new();
    private readonly EditorWriter _editor;
    private readonly IdTranslator _ids = new();
    private readonly EditorConfiguration _configuration = new();
    private readonly HeldRequests _held;
    private readonly LinkSupervisor _links;
    private Task _completion = Task.CompletedTask;
    private volatile Mode _mode = Mode.Pending;
    private Handshake _handshake = Handshake.None;
    private string? _endReason;
    private string? _refusal;
    private volatile bool _left;

    public EditorConnection(DapProxy proxy, Stream stream, int id, DapProxyOptions options, IProgressReporter progress, Socket? socket = null)
    {
        _proxy = proxy;
        _stream = stream;
        _socket = socket;
        Id = id;
        _options = options;
        _progress = progress;
        _editor = new EditorWriter(stream, _closed.Token, PostClose);
        _held = new HeldRequests(options.Time, options.RequestWaitTimeout, _closed.Token, heldId => Post(() => ExpireAsync(heldId)));
        _links = new LinkSupervisor(options, _closed.Token, new LinkEvents(this));
    }

    public int Id { get; }

    public string Name => $"editor connection {Id}";

    public bool IsRoot => _mode is Mode.Root or Mode.RootConfigured;

    /// <summary>The backend key a child session is bound to (null otherwise).</summary>
    public string? ChildKey { get; private set; }

    /// <summary>
    /// Whether the editor has gone: its connection ended, as seen by the read loop or, before the read loop
    /// got to it, by the socket itself (readable with nothing to read is the peer's FIN). An editor that
    /// closes and at once starts another must find the slot free: the FIN arrived before the new connection did.
    /// </summary>
    public bool HasLeft
    {
        get
        {
            if (_left) return true;
            if (_socket is not { } socket) return false;
            try
            {
                return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                return true;
            }
        }
    }

    /// <summary>Ends when the connection is closed and its work is done.</summary>
    public Task Completion => _completion;

    private bool Closing => _mode == Mode.Closed;

    private bool InitializeAnswered => _handshake is Handshake.Initialized or Handshake.Attached or Handshake.Detaching;

    /// <summary>Whether the backend has the editor's attach and is not being detached by the editor's own disconnect.</summary>
    private bool AttachedToBackend => _handshake is Handshake.AttachSent or Handshake.Attached;

    public void Start()
    {
        var reader = Task.Run(() => ReadLoopAsync(new BufferedStream(_stream, 64 * 1024)));
        _completion = Task.WhenAll(reader, Task.Run(WorkLoopAsync));
    }

    public void PostBackendAdded(ProxyBackend backend) => Post(() => OnBackendAddedAsync(backend));

    public void PostBackendRemoved(ProxyBackend backend, string reason) => Post(() => OnBackendRemovedAsync(backend, reason));

    public void PostClose(string reason) => Post(() => CloseAsync(reason));

    /// <summary>This child session's parent session closed: the editor is told it ended, and the connection closes.</summary>
    public void PostParentEnded() => Post(async () =>
    {
        if (Closing) return;
        await _editor.SendTerminatedAsync();
        await CloseAsync("its parent session ended");
    });

    private void Post(Func<Task> work) => _work.Writer.TryWrite(work);

    private async Task WorkLoopAsync()
    {
        await foreach (var work in _work.Reader.ReadAllAsync())
        {
            try
            {
                await work();
            }
            catch (Exception e)
            {
                // A bug or an I/O failure on this connection: it ends, the proxy and the others go on.
                _progress.Step($"wand proxy: {Name} failed ({e.GetType().Name}: {e.Message}); closing it");
                await CloseAsync("an internal error");
            }
        }
    }

    private async Task ReadLoopAsync(Stream reader)
    {
        string reason;
        try
        {
            while (await DapFraming.ReadAsync(reader, _options.MaxMessageBytes, _closed.Token) is { } message)
                Post(() => OnEditorMessageAsync(message));
            reason = "the editor closed the connection";
            // Free the editor slot now, not when the work queue gets to the close: the next editor may already be connecting.
            _left = true;
            _proxy.Release(this);
        }
        catch (Exception) when (_closed.IsCancellationRequested)
        {
            return;
        }
        catch (DapProtocolException e)
        {
            reason = $"the editor broke the protocol ({e.Message})";
            _progress.Step($"wand proxy: closing {Name}: {reason}");
        }
        catch (Exception e)
        {
            reason = $"the connection broke ({e.Message})";
        }
        PostClose(reason);
    }

    // ---- editor to proxy -------------------------------------------------------------------------

    private async Task OnEditorMessageAsync(JsonObject message)
    {
        if (Closing) return;
        var type = DapJson.String(message, "type");
        if (type == "response")
        {
            if (IsRoot) await OnRootReverseResponseAsync(message);
            return;
        }
        if (type != "request" || !DapJson.TryInt(message, "seq", out var seq)) return; // not something that can be answered
        if (DapJson.String(message, "command") is not { Length: > 0 } command)
        {
            await _editor.SendAsync(ProxyMessages.Error(seq, "", "a request without a command"));
            return;
        }
        await HandleRequestAsync(message, seq, command);
    }

    private async Task HandleRequestAsync(JsonObject request, int seq, string command)
    {
        var arguments = request["arguments"] as JsonObject;
        switch (_mode)
        {
            case Mode.Refused:
                await _editor.SendAsync(ProxyMessages.Error(seq, command, _refusal ?? "refused"));
                return;
            case Mode.Ended:
                if (command == "disconnect")
                {
                    await _editor.SendAsync(ProxyMessages.Response(seq, command));
                    await CloseAsync("the editor disconnected");
                }
                else await _editor.SendAsync(ProxyMessages.Error(seq, command, $"the debug session has ended: {_endReason}"));
                return;
            case Mode.Root or Mode.RootConfigured:
                await HandleRootRequestAsync(seq, command, arguments);
                return;
        }

        switch (command)
        {
            case "initialize":
                await OnInitializeAsync(request, seq, arguments);
                break;
            case "attach":
                await OnAttachAsync(request, seq, arguments);
                break;
            case "launch":
                await _editor.SendAsync(ProxyMessages.Error(seq, command, "wand debugs processes that already run: use \"request\": \"attach\""));
                break;
            case "terminate":
                // Never forwarded: ending the debug session must not end the app.
                await _editor.SendAsync(ProxyMessages.Response(seq, command));
                await _editor.SendTerminatedAsync();
                break;
            case "disconnect":
                await OnDisconnectAsync(request, seq, arguments);
                break;
            case "cancel" when arguments is not null && DapJson.Int(arguments, "requestId") is { } cancelled:
                await OnCancelAsync(request, seq, arguments, cancelled);
                break;
            default:
                await RouteAsync(request, seq, command, arguments);
                break;
        }
    }

    private async Task OnInitializeAsync(JsonObject request, int seq, JsonObject? arguments)
    {
        if (_configuration.Initialize is not null)
        {
            await _editor.SendAsync(ProxyMessages.Error(seq, "initialize", "this connection is already initialized"));
            return;
        }
        _configuration.SetInitialize(arguments);
        if (_proxy.Admit(this) is { } refusal)
        {
            await RefuseAsync(seq, "initialize", refusal);
            return;
        }
        if (_proxy.Capabilities is { } capabilities)
        {
            // Known from an earlier connection: the backend is chosen at attach (a child session names its own).
            OnInitializeAnswered();
            await _editor.SendAsync(ProxyMessages.Response(seq, "initialize", capabilities));
            return;
        }
        if (_links.Pick(_proxy) is not { } backend)
        {
            // wand's port opens before the first process is armed, and an editor started together with
            // `wand debug` (F5 at once) connects in that gap: its initialize waits for the process, as any
            // request does between two processes, and is answered once one is there (OnBackendAddedAsync).
            _progress.Step($"wand proxy: {Name} waits for the first process to be ready");
            _held.Add(request, seq, "initialize", expires: false);
            _links.WaitForBackend("no process was ready yet");
            return;
        }
        StartLink(backend, ReplayKind.None);
        _held.Add(request, seq, "initialize");
    }

    private async Task OnAttachAsync(JsonObject request, int seq, JsonObject? arguments)
    {
        if (_configuration.Initialize is null || _configuration.Attach is not null)
        {
            await _editor.SendAsync(ProxyMessages.Error(seq, "attach", _configuration.Attach is null ? "send initialize first" : "this connection is already attached"));
            return;
        }
        var attach = arguments?.DeepClone().AsObject() ?? [];
        var marker = DapJson.String(attach, BackendMarker);
        attach.Remove(BackendMarker);
        request["arguments"] = attach.DeepClone();

        if (marker is not null)
        {
            if (_proxy.FindBackend(marker) is not { } child)
            {
                await _editor.SendAsync(ProxyMessages.Error(seq, "attach", $"the process '{marker}' is no longer there"));
                await EndAsync($"the process '{marker}' went away");
                return;
            }
            _mode = Mode.Child;
            ChildKey = marker;
            _configuration.SetAttach(attach);
            await BindAsync(child, request, seq);
            return;
        }
        if (!_proxy.IsPrimary(this))
        {
            await RefuseAsync(seq, "attach", _proxy.SecondEditorRefusal);
            return;
        }
        _configuration.SetAttach(attach);
        if (_configuration.SupportsStartDebugging && (_options.AllBackends || _proxy.BackendCount > 1))
        {
            await BecomeRootAsync(seq);
            return;
        }
        _mode = Mode.Single;
        if ((_links.Current?.Backend ?? _links.Pick(_proxy)) is { } backend) await BindAsync(backend, request, seq);
        else
        {
            // No process right now (between two): the attach waits for the next one, within bounds.
            _held.Add(request, seq, "attach");
            _links.WaitForBackend("no process was attached yet");
        }
    }

    // ---- ending ---------------------------------------------------------------------------------------

    private async Task RefuseAsync(int seq, string command, string refusal)
    {
        _mode = Mode.Refused;
        _refusal = refusal;
        _progress.Step($"wand proxy: refused {Name}: {refusal}");
        await _editor.SendAsync(ProxyMessages.Error(seq, command, refusal));
        await _editor.SendAsync(ProxyMessages.Output($"wand: {refusal}"));
        await CloseAsync("refused");
    }

    /// <summary>Ends the editor's session (it gets <c>terminated</c>); the connection stays until the editor disconnects.</summary>
    private async Task EndAsync(string reason)
    {
        _mode = Mode.Ended;
        _endReason = reason;
        _links.StopWaiting();
        _proxy.Release(this); // an ended session debugs nothing: the next editor may come in while this one lingers
        if (_links.Drop() is { } link) _ = link.CloseAsync(detach: AttachedToBackend, _options.Time);
        foreach (var held in _held.TakeAll()) await _editor.SendAsync(ProxyMessages.Error(held.Seq, held.Command, $"the debug session has ended: {reason}"));
        await _editor.SendTerminatedAsync();
    }

    /// <summary>Closes the connection; the backend, if attached, is detached with <c>terminateDebuggee: false</c>.</summary>
    private async Task CloseAsync(string reason)
    {
        if (Closing) return;
        _left = true;
        _links.StopWaiting();
        _progress.Step($"wand proxy: {Name} closed: {reason}");
        _held.TakeAll();
        _proxy.Remove(this); // reads IsRoot: a root session takes its child sessions with it
        _mode = Mode.Closed;
        if (_links.Drop() is { } link) await link.CloseAsync(detach: AttachedToBackend, _options.Time);
        await _closed.CancelAsync();
        await _stream.DisposeAsync();
        _work.Writer.TryComplete();
    }
}
