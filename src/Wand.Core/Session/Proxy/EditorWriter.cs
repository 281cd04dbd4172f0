using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wand.Session.Dap;

namespace Wand.Session.Proxy;

/// <summary>
/// Writes to the editor: each message gets the next sequence number of this connection, and
/// <c>terminated</c> is sent at most once, whoever ends the session (the editor's <c>terminate</c>, a child's
/// backend, the proxy). A failed write calls <c>failed</c> (which posts the close) instead of throwing.
/// </summary>
/// <remarks>Used only from its editor connection's work queue.</remarks>
internal sealed class EditorWriter(Stream stream, CancellationToken closed, Action<string> failed)
{
    private int _seq = 1;
    private bool _terminatedSent;

    /// <summary>Writes one message with the next sequence number of this connection; returns that number.</summary>
    public async Task<int> SendAsync(JsonObject message)
    {
        var seq = _seq++;
        if (closed.IsCancellationRequested) return seq;
        message["seq"] = seq;
        try
        {
            await DapFraming.WriteAsync(stream, message, closed);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            failed($"writing to the editor failed ({e.Message})");
        }
        return seq;
    }

    /// <summary>Sends <c>terminated</c>, unless the editor already had one.</summary>
    public async Task SendTerminatedAsync()
    {
        if (ClaimTerminated()) await SendAsync(ProxyMessages.Event("terminated"));
    }

    /// <summary>True the first time only: whoever gets it sends the editor's one <c>terminated</c>.</summary>
    public bool ClaimTerminated()
    {
        if (_terminatedSent) return false;
        _terminatedSent = true;
        return true;
    }
}
