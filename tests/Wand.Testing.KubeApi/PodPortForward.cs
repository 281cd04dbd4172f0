using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Wand.Testing.KubeApi.Spdy;
using Wand.Transport.Local;

namespace Wand.Testing.KubeApi;

/// <summary>
/// pods/portforward as kubectl 1.32 speaks it: SPDY/3.1 with portforward.k8s.io, either tunnelled in
/// WebSocket binary messages (subprotocol "SPDY/3.1+portforward.k8s.io", client-go
/// tools/portforward/tunneling_connection.go; tried first) or after an HTTP upgrade to SPDY/3.1 (the
/// fallback). Per local connection kubectl opens two streams with the same requestID: "error" and
/// "data" (headers streamType, port, requestID). The data stream is joined to a socket connected to
/// 127.0.0.1:PORT inside the pod's network namespace; a failure is written to the error stream, as the
/// kubelet does. The connection ends when the pod goes away (kubectl: "lost connection to pod").
/// </summary>
internal sealed class PodPortForward(ClusterState state)
{
    private const string Protocol = "portforward.k8s.io";
    private const string Tunnel = "SPDY/3.1+" + Protocol;

    public async Task HandleAsync(HttpContext context, string ns, string name, CancellationToken stopping)
    {
        var (pods, _) = await state.PodsAsync(ns);
        var pod = pods.FirstOrDefault(p => p["metadata"]!["name"]!.GetValue<string>() == name);
        if (pod is null)
        {
            await KubeApiServer.WriteAsync(context, ApiStatus.NotFound("pods", name), 404);
            return;
        }
        var pids = await RunningPidsAsync(pod);
        if (pids.Count == 0)
        {
            await KubeApiServer.WriteAsync(context, ApiStatus.BadRequest($"pod {name} has no running container"), 400);
            return;
        }
        Stream io;
        if (context.WebSockets.IsWebSocketRequest && context.WebSockets.WebSocketRequestedProtocols.Contains(Tunnel)
            && context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } wsUpgrade)
        {
            // The handshake by hand: .NET refuses "SPDY/3.1+portforward.k8s.io" as a subprotocol ('/' is
            // no token character in RFC 6455), Go's gorilla/websocket takes it.
            var key = context.Request.Headers["Sec-WebSocket-Key"].ToString();
            context.Response.Headers["Sec-WebSocket-Accept"] = Convert.ToBase64String(System.Security.Cryptography.SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
            context.Response.Headers["Sec-WebSocket-Protocol"] = Tunnel;
            context.Response.Headers.Upgrade = "websocket";
            context.Response.Headers.Connection = "Upgrade";
            var raw = await wsUpgrade.UpgradeAsync();
            var ws = WebSocket.CreateFromStream(raw, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
            io = WebSocketStream.Create(ws, WebSocketMessageType.Binary, ownsWebSocket: true);
        }
        else if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade
            && context.Request.Headers.Upgrade.ToString().Contains("SPDY/3.1", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.Headers["X-Stream-Protocol-Version"] = Protocol;
            context.Response.Headers.Upgrade = "SPDY/3.1";
            context.Response.Headers.Connection = "Upgrade";
            io = await upgrade.UpgradeAsync();
        }
        else
        {
            await KubeApiServer.WriteAsync(context, ApiStatus.BadRequest($"port-forward needs a WebSocket ({Tunnel}) or a SPDY/3.1 upgrade"), 400);
            return;
        }
        await using (io)
        {
            var errors = new ConcurrentDictionary<string, TaskCompletionSource<SpdyStream>>();
            TaskCompletionSource<SpdyStream> ErrorStream(string id) => errors.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
            using var ended = CancellationTokenSource.CreateLinkedTokenSource(stopping, context.RequestAborted);
            var connection = new SpdyConnection(io, async s =>
            {
                var id = s.Headers.GetValueOrDefault("requestID") ?? "";
                if (s.Headers.GetValueOrDefault("streamType") == "error")
                {
                    ErrorStream(id).TrySetResult(s);
                    return;
                }
                var error = await ErrorStream(id).Task.WaitAsync(TimeSpan.FromSeconds(30), ended.Token);
                await ForwardAsync(s, error, int.Parse(s.Headers["port"], CultureInfo.InvariantCulture), name, pids, ended.Token);
                errors.TryRemove(id, out _);
            });
            var reading = connection.RunAsync(ended.Token);
            var path = Path.Combine(state.Root, ns, "pods", name + ".json");
            while (!reading.IsCompleted)
            {
                // As a kubelet's stream ends with its pod: the pod deleted, or its containers gone.
                if (!File.Exists(path) || pids.Any(p => !Directory.Exists($"/proc/{p}")))
                {
                    await connection.GoAwayAsync();
                    await ended.CancelAsync();
                    break;
                }
                await Task.WhenAny(reading, Task.Delay(200, CancellationToken.None));
            }
            await reading;
        }
    }

    private static async Task<List<int>> RunningPidsAsync(JsonObject pod)
    {
        var states = await Podman.InspectAsync(ClusterState.Containers(pod).Select(c => c.Podman).ToList());
        return ClusterState.Containers(pod).Select(c => states.GetValueOrDefault(c.Podman))
            .Where(s => s?["State"]?["Running"]?.GetValue<bool>() == true)
            .Select(s => s!["State"]!["Pid"]!.GetValue<int>()).Where(p => p > 0).ToList();
    }

    private static async Task ForwardAsync(SpdyStream data, SpdyStream error, int port, string pod, List<int> pids, CancellationToken cancellationToken)
    {
        // The pod's containers share one network namespace when they are a podman pod; otherwise the
        // one whose process listens on the port is taken (else the first).
        var inside = pids.FirstOrDefault(p => Listens(p, port), pids[0]);
        using var socket = NetworkNamespace.CreateSocketIn(inside);
        try
        {
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connect.CancelAfter(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(IPAddress.Loopback, port, connect.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            var why = e is SocketException se ? se.SocketErrorCode == SocketError.ConnectionRefused ? "connect: connection refused" : se.Message : "i/o timeout";
            await error.WriteAsync(Encoding.UTF8.GetBytes($"error forwarding port {port} to pod {pod}: failed to connect to localhost:{port} inside namespace, IPv4: dial tcp4 127.0.0.1:{port}: {why} "));
            await error.CloseWriteAsync();
            await data.CloseWriteAsync();
            return;
        }
        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, data.Aborted);
        var up = Task.Run(async () =>
        {
            try
            {
                var buffer = new byte[32 * 1024];
                int n;
                while ((n = await data.Input.ReadAsync(buffer, aborted.Token)) > 0) await socket.SendAsync(buffer.AsMemory(0, n), aborted.Token);
                socket.Shutdown(SocketShutdown.Send); // kubectl half-closed: its local client is done sending
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // reset or gone
            }
        }, CancellationToken.None);
        try
        {
            var buffer = new byte[32 * 1024];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, aborted.Token)) > 0) await data.WriteAsync(buffer.AsMemory(0, n));
            await data.CloseWriteAsync();
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or WebSocketException)
        {
            // reset or gone
        }
        await Task.WhenAny(up, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None));
        try
        {
            await error.CloseWriteAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or WebSocketException)
        {
            // the connection is gone
        }
    }

    /// <summary>True when something listens on the port in <paramref name="pid"/>'s network namespace (/proc/PID/net/tcp, state 0A).</summary>
    private static bool Listens(int pid, int port)
    {
        foreach (var table in new[] { "tcp", "tcp6" })
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{pid}/net/{table}").Skip(1))
                {
                    var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (f.Length > 3 && f[3] == "0A" && int.Parse(f[1][(f[1].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port) return true;
                }
            }
            catch (IOException)
            {
                // gone
            }
        }
        return false;
    }
}
