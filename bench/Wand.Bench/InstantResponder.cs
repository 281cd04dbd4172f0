using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wand.Session.Dap;

namespace Wand.Bench;

/// <summary>
/// A minimal DAP adapter in the benchmark's process that answers at once, as if stopped in tick(n):
/// the proxy's diagnostic backend, so its own per-request cost can be read apart from debugpy's.
/// Speaks just enough for <c>DapSession.AttachAsync</c>, a stop, and stackTrace/scopes/variables.
/// </summary>
internal sealed class InstantResponder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;

    private InstantResponder(TcpListener listener)
    {
        _listener = listener;
        _accept = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public static InstantResponder Start()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new InstantResponder(listener);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    private async Task AcceptAsync()
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
            socket.NoDelay = true;
            _ = ServeAsync(new NetworkStream(socket, ownsSocket: true));
        }
    }

    private async Task ServeAsync(NetworkStream stream)
    {
        await using var _ = stream;
        var reader = new BufferedStream(stream, 64 * 1024);
        var seq = 1;
        JsonObject? attach = null;
        async Task SendAsync(JsonObject message)
        {
            message["seq"] = seq++;
            await DapFraming.WriteAsync(stream, message, _stop.Token);
        }
        Task RespondAsync(JsonObject request, JsonObject? body = null) => SendAsync(new JsonObject
        {
            ["type"] = "response",
            ["request_seq"] = (int)request["seq"]!,
            ["success"] = true,
            ["command"] = (string?)request["command"],
            ["body"] = body ?? [],
        });
        try
        {
            while (await DapFraming.ReadAsync(reader, _stop.Token) is { } request)
            {
                if ((string?)request["type"] != "request") continue;
                switch ((string?)request["command"])
                {
                    case "attach":
                        attach = request;
                        await SendAsync(new JsonObject { ["type"] = "event", ["event"] = "initialized" });
                        break;
                    case "configurationDone":
                        await RespondAsync(request);
                        if (attach is not null) await RespondAsync(attach);
                        await SendAsync(new JsonObject { ["type"] = "event", ["event"] = "stopped", ["body"] = new JsonObject { ["reason"] = "breakpoint", ["threadId"] = 1 } });
                        break;
                    case "stackTrace":
                        await RespondAsync(request, new JsonObject { ["stackFrames"] = new JsonArray(new JsonObject { ["id"] = 2, ["name"] = "tick", ["line"] = 8, ["column"] = 1 }) });
                        break;
                    case "scopes":
                        await RespondAsync(request, new JsonObject { ["scopes"] = new JsonArray(new JsonObject { ["name"] = "Locals", ["variablesReference"] = 3, ["expensive"] = false }) });
                        break;
                    case "variables":
                        await RespondAsync(request, new JsonObject { ["variables"] = new JsonArray(new JsonObject { ["name"] = "n", ["value"] = "1", ["type"] = "int", ["variablesReference"] = 0 }) });
                        break;
                    case "setBreakpoints":
                        await RespondAsync(request, new JsonObject { ["breakpoints"] = new JsonArray() });
                        break;
                    default:
                        await RespondAsync(request);
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or DapProtocolException or ObjectDisposedException)
        {
            // the client left
        }
    }
}
