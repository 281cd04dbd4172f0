using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wand.Progress;

namespace Wand.Session.Proxy;

/// <summary>
/// The editor's end of a wand debug session: listens on 127.0.0.1:PORT and relays the Debug Adapter
/// Protocol to the debugpy of whichever process is being debugged (a backend), so the editor's
/// session outlives that process: when the process goes away, the session calls
/// <see cref="RemoveBackend"/> and, once the next process is injected, <see cref="AddBackend"/>.
/// </summary>
/// <remarks>
/// <para><b>Pass-through with an explicit list of interceptions.</b> Every message is relayed unchanged
/// except for these:</para>
/// <list type="bullet">
/// <item>Sequence numbers: each connection has its own; responses get the <c>request_seq</c> of the
/// side they go to, so no backend's numbers reach the editor and no editor's reach a backend.</item>
/// <item>Thread ids, frame ids, variable references and source references are the editor's own
/// (<see cref="IdTranslator"/>): ids of a backend that went away are refused with an error that says so,
/// never sent to the next. Breakpoint ids too: after a replay, the new process's breakpoints get the ids
/// the editor already knows, and a <c>breakpoint</c> event (reason <c>changed</c>) tells the editor of each
/// whose verification differs from what it was last told.</item>
/// <item><c>cancel</c>: its <c>requestId</c> becomes the backend's sequence number; a request still held by
/// the proxy is answered as cancelled here.</item>
/// <item>Recorded for replay: <c>initialize</c> and <c>attach</c> arguments, <c>setBreakpoints</c> per
/// source, <c>setExceptionBreakpoints</c>, <c>setFunctionBreakpoints</c>, and whether
/// <c>configurationDone</c> was sent. <c>initialize</c> goes to debugpy with <c>supportsStartDebuggingRequest</c>
/// and <c>supportsRunInTerminalRequest</c> false; once one backend answered it, later connections are
/// answered from that answer (the backend is only chosen at <c>attach</c>). Before any backend was added
/// (an editor started together with <c>wand debug</c>), <c>initialize</c> waits for the first one, for at most
/// <see cref="DapProxyOptions.BackendWaitTimeout"/>; it is never refused for being early.</item>
/// <item><c>attach</c> goes to debugpy with <c>"flask": true</c> unless the editor's configuration names
/// <c>flask</c> or <c>django</c>: a reloader's worker ends with <c>SystemExit(3)</c>, which wand follows itself and
/// which must not stop the editor under its default <c>uncaught</c> filter (<see cref="BackendLink.AttachForBackend"/>).</item>
/// <item><c>disconnect</c> goes to debugpy with <c>terminateDebuggee: false</c>, <c>suspendDebuggee: false</c>;
/// a process that goes away before answering it is detached all the same (the editor gets success);
/// <c>terminate</c> is answered here with a <c>terminated</c> event and never forwarded; an editor that
/// goes away without <c>disconnect</c> is detached the same way. The app never stops because of the editor.</item>
/// <item><c>launch</c> is refused (wand attaches to processes that run).</item>
/// <item>Reverse requests from a backend (debugpy's <c>runInTerminal</c>, <c>startDebugging</c> for
/// subprocesses) are refused: the allow-list is empty.</item>
/// <item>Single-process sessions drop the backend's <c>exited</c> and <c>terminated</c> events: a process
/// ending does not end the editor's session.</item>
/// </list>
/// <para><b>Process replaced (single-process session).</b> When its backend is removed (or its connection
/// ends or breaks), the editor gets an error for each unanswered request, a <c>thread</c> event with
/// reason <c>exited</c> for every thread it was told about, and a console <c>output</c> line. The next
/// backend (the most recent one, or the next one added) gets initialize, attach, the recorded
/// breakpoints (of sources with a path: a source reference names code of the old process),
/// exception and function breakpoints and configurationDone replayed, their responses consumed, a
/// console line says so, and the session goes on there.
/// Meanwhile breakpoint requests and configurationDone are recorded and answered here (breakpoints
/// unverified), <c>threads</c> is answered with none, requests naming ids of the old process get an
/// error, and other requests wait for the next process for at most <see cref="DapProxyOptions.RequestWaitTimeout"/>.
/// If no process comes within <see cref="DapProxyOptions.BackendWaitTimeout"/>, the editor gets an
/// <c>output</c> line with the reason and <c>terminated</c>.</para>
/// <para>Which kind of session an editor gets is decided at its <c>attach</c>: a single-process session
/// stays one when more processes are added later (it moves to another only when its own goes away).</para>
/// <para><b>Several processes.</b> An editor whose <c>initialize</c> says <c>supportsStartDebuggingRequest</c>
/// attaching while more than one backend exists (or always with <see cref="DapProxyOptions.AllBackends"/>)
/// gets a parent session: its attach is answered here, and after its configurationDone every backend,
/// and every backend added later, is offered with a <c>startDebugging</c> reverse request whose
/// configuration is the editor's attach configuration plus <c>"__wandBackend": KEY</c>. The editor opens a
/// new connection for each; its attach names the key and binds it to that backend. The parent session
/// accepts configuration, answers <c>threads</c> with none and refuses everything else; a removed
/// backend's child session gets <c>terminated</c>. Other editors get single-process sessions on the most
/// recently added backend. When the parent session's connection closes, its child sessions get
/// <c>terminated</c> and are closed too (each detaching from its process), so the next editor can have them.</para>
/// <para><b>A second editor</b> while one is connected is refused: its <c>initialize</c> (or, while the first is
/// a parent session, its <c>attach</c> without a child key) fails with a message saying another editor
/// is connected, which it also gets as console output, and its connection is closed. The first editor's
/// session is untouched. The slot is the first editor's from its <c>initialize</c> until it leaves, at any
/// stage: its <c>disconnect</c> (freed before the answer is sent), its connection closing (freed by the read
/// loop, and seen on the socket by <see cref="Admit"/> even before that), or its session ending (<c>terminated</c>),
/// so an editor that restarts its session at once is never refused by its own previous connection.</para>
/// <para><b>Bad input.</b> A malformed frame from an editor (bad <c>Content-Length</c>, invalid JSON, a body
/// over <see cref="DapProxyOptions.MaxMessageBytes"/>) closes that editor's connection; one from a backend
/// closes that backend's connection, which the editor sees as the process going away. Both are
/// reported through <see cref="IProgressReporter"/>; the proxy and other connections go on.</para>
/// </remarks>
public sealed class DapProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IProgressReporter _progress;
    private readonly DapProxyOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<ProxyBackend> _backends = [];
    private readonly List<EditorConnection> _editors = [];
    private readonly Task _acceptLoop;
    private EditorConnection? _primary;
    private string? _capabilities;
    private long _order;
    private int _nextEditor;
    private int _disposed;

    private DapProxy(TcpListener listener, IProgressReporter progress, DapProxyOptions options)
    {
        _listener = listener;
        _progress = progress;
        _options = options;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Starts listening on 127.0.0.1:<paramref name="localPort"/> (0 picks a free port).</summary>
    /// <exception cref="SocketException">The port is taken.</exception>
    public static DapProxy Start(int localPort, IProgressReporter progress, DapProxyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(progress);
        var listener = new TcpListener(IPAddress.Loopback, localPort);
        listener.Start();
        return new DapProxy(listener, progress, options ?? new DapProxyOptions());
    }

    public int LocalPort => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The keys of the current backends, oldest first.</summary>
    public IReadOnlyList<string> Backends
    {
        get
        {
            lock (_gate) return [.. _backends.Select(b => b.Key)];
        }
    }

    /// <summary>How many editor connections are open (a parent session and its children count one each).</summary>
    public int EditorCount
    {
        get
        {
            lock (_gate) return _editors.Count;
        }
    }

    /// <summary>The backend keys that child sessions are bound to right now (one entry per child connection).</summary>
    public IReadOnlyList<string> ChildSessions
    {
        get
        {
            lock (_gate) return [.. _editors.Select(e => e.ChildKey).OfType<string>()];
        }
    }

    /// <summary>
    /// A backend is ready: <paramref name="connect"/> opens a fresh stream to its debugpy (called once per
    /// editor session that uses it). <paramref name="key"/> identifies the process ("pid 1234"); adding a
    /// key again replaces the earlier backend of that key. <paramref name="description"/> is shown to the user.
    /// </summary>
    public void AddBackend(string key, string description, Func<CancellationToken, Task<Stream>> connect)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(description);
        ArgumentNullException.ThrowIfNull(connect);
        ProxyBackend? replaced;
        ProxyBackend backend;
        EditorConnection[] editors;
        lock (_gate)
        {
            replaced = _backends.Find(b => b.Key == key);
            if (replaced is not null) _backends.Remove(replaced);
            backend = new ProxyBackend(key, description, connect, ++_order, _options.Time.GetTimestamp());
            _backends.Add(backend);
            editors = [.. _editors];
        }
        _progress.Step($"wand proxy: {description} is ready");
        foreach (var editor in editors)
        {
            if (replaced is not null) editor.PostBackendRemoved(replaced, "it was registered again");
            editor.PostBackendAdded(backend);
        }
    }

    /// <summary>That backend's process went away; <paramref name="reason"/> is shown to the editor. Unknown keys are ignored.</summary>
    public void RemoveBackend(string key, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ProxyBackend? removed;
        EditorConnection[] editors;
        lock (_gate)
        {
            removed = _backends.Find(b => b.Key == key);
            if (removed is null) return;
            _backends.Remove(removed);
            editors = [.. _editors];
        }
        _progress.Step($"wand proxy: {removed.Description} went away ({reason})");
        foreach (var editor in editors) editor.PostBackendRemoved(removed, reason);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        EditorConnection[] editors;
        lock (_gate) editors = [.. _editors];
        foreach (var editor in editors) editor.PostClose("wand is stopping");
        try
        {
            await Task.WhenAll(editors.Select(e => e.Completion)).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is TimeoutException or IOException or OperationCanceledException)
        {
            // best effort: the listener is closed either way
        }
        _stop.Dispose();
    }

    // ---- for EditorConnection -------------------------------------------------------------------

    /// <summary>
    /// The capabilities debugpy answered to the last <c>initialize</c>, given to later editors directly.
    /// Kept as text, so every reader gets its own object (JSON nodes are not safe to share across threads).
    /// </summary>
    internal JsonObject? Capabilities
    {
        get
        {
            string? text;
            lock (_gate) text = _capabilities;
            return text is null ? null : JsonNode.Parse(text) as JsonObject;
        }
        set
        {
            var text = value?.ToJsonString();
            lock (_gate) _capabilities = text;
        }
    }

    internal int BackendCount
    {
        get
        {
            lock (_gate) return _backends.Count;
        }
    }

    internal string SecondEditorRefusal =>
        $"another editor is already debugging through wand on port {LocalPort}; disconnect it first (wand serves one editor at a time)";

    internal IReadOnlyList<ProxyBackend> BackendSnapshot()
    {
        lock (_gate) return [.. _backends];
    }

    internal ProxyBackend? FindBackend(string key)
    {
        lock (_gate) return _backends.Find(b => b.Key == key);
    }

    internal ProxyBackend? MostRecentBackend(Func<ProxyBackend, bool> usable)
    {
        lock (_gate) return _backends.Where(usable).MaxBy(b => b.Order);
    }

    /// <summary>
    /// At <c>initialize</c>: null if <paramref name="editor"/> may go on (it is the editor, or a possible child
    /// of the parent session), else why it is refused.
    /// </summary>
    internal string? Admit(EditorConnection editor)
    {
        lock (_gate)
        {
            if (editor.HasLeft) return "the editor has gone";
            // An editor that closed its connection holds nothing, even before its own close is processed.
            if (_primary is { IsRoot: false } holder && holder.HasLeft) _primary = null;
            if (_primary is null || ReferenceEquals(_primary, editor))
            {
                _primary = editor;
                return null;
            }
            return _primary.IsRoot ? null : SecondEditorRefusal;
        }
    }

    /// <summary>
    /// <paramref name="editor"/> no longer holds the editor slot (it disconnected, closed, or its session ended),
    /// though its connection may still be finishing. A parent session keeps it until <see cref="Remove"/>, which
    /// also ends its child sessions.
    /// </summary>
    internal void Release(EditorConnection editor)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_primary, editor) && !editor.IsRoot) _primary = null;
        }
    }

    internal bool IsPrimary(EditorConnection editor)
    {
        lock (_gate) return ReferenceEquals(_primary, editor);
    }

    /// <summary>An editor connection closed; a parent session takes its child sessions with it (they hold their processes' debugpys).</summary>
    internal void Remove(EditorConnection editor)
    {
        EditorConnection[] children = [];
        lock (_gate)
        {
            _editors.Remove(editor);
            if (ReferenceEquals(_primary, editor))
            {
                _primary = null;
                if (editor.IsRoot) children = [.. _editors.Where(e => e.ChildKey is not null)];
            }
        }
        foreach (var child in children) child.PostParentEnded();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                _progress.Step($"wand proxy: accepting an editor failed: {e.Message}");
                continue;
            }
            socket.NoDelay = true;
            EditorConnection editor;
            lock (_gate)
            {
                editor = new EditorConnection(this, new NetworkStream(socket, ownsSocket: true), ++_nextEditor, _options, _progress, socket);
                _editors.Add(editor);
            }
            editor.Start();
        }
    }
}
