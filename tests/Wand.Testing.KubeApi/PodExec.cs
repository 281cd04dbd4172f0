using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Wand.Testing.KubeApi.Spdy;

namespace Wand.Testing.KubeApi;

/// <summary>
/// pods/exec: `podman exec [-i] CONTAINER ARGV...` with kubectl's streams. kubectl 1.32 asks for a
/// WebSocket with v5.channel.k8s.io (client-go tools/remotecommand/websocket.go): every message is a
/// channel byte and data (0 stdin, 1 stdout, 2 stderr, 3 the error channel: a Status with the exit
/// code, 4 resize), and v5 adds 255 + channel, "this channel is closed" (stdin's EOF). When that
/// upgrade fails it falls back to SPDY (one stream per channel, headers streamType=stdin|stdout|...),
/// which is all an API server older than 1.30 offers, with v4.channel.k8s.io.
/// </summary>
internal sealed class PodExec(ClusterState state, KubeApiOptions options)
{
    private const string V5 = "v5.channel.k8s.io";
    private const string V4 = "v4.channel.k8s.io";

    public async Task HandleAsync(HttpContext context, string ns, string name, CancellationToken stopping)
    {
        var q = context.Request.Query;
        var command = q["command"].Select(c => c ?? "").ToList();
        var (pods, _) = await state.PodsAsync(ns);
        var pod = pods.FirstOrDefault(p => p["metadata"]!["name"]!.GetValue<string>() == name);
        if (pod is null)
        {
            await KubeApiServer.WriteAsync(context, ApiStatus.NotFound("pods", name), 404);
            return;
        }
        var containers = ClusterState.Containers(pod).ToList();
        var container = q["container"].ToString() is { Length: > 0 } c ? c : containers.FirstOrDefault().Container;
        var podman = containers.FirstOrDefault(x => x.Container == container).Podman;
        if (podman is null)
        {
            await KubeApiServer.WriteAsync(context, ApiStatus.BadRequest($"container {container} is not valid for pod {name}"), 400);
            return;
        }
        if (command.Count == 0)
        {
            await KubeApiServer.WriteAsync(context, ApiStatus.BadRequest("you must specify at least 1 command"), 400);
            return;
        }
        var stdin = q["stdin"] == "true" || q["input"] == "1";
        var args = new List<string> { "exec" };
        if (stdin) args.Add("-i");
        args.Add(podman);
        args.AddRange(command);

        if (context.WebSockets.IsWebSocketRequest)
        {
            if (options.ExecV4Only || !context.WebSockets.WebSocketRequestedProtocols.Contains(V5))
            {
                await KubeApiServer.WriteAsync(context, ApiStatus.BadRequest($"this server serves exec over SPDY with {V4} only"), 400);
                return;
            }
            using var ws = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { SubProtocol = V5 });
            await RunOverWebSocketAsync(ws, args, command, stdin, stopping);
            return;
        }
        var offered = context.Request.Headers["X-Stream-Protocol-Version"].SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries)).ToList();
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        if (upgrade is not { IsUpgradableRequest: true } || !offered.Contains(V4))
        {
            await KubeApiServer.WriteAsync(context, ApiStatus.BadRequest($"exec needs a WebSocket ({V5}) or a SPDY/3.1 upgrade ({V4})"), 400);
            return;
        }
        context.Response.Headers["X-Stream-Protocol-Version"] = V4;
        context.Response.Headers.Upgrade = "SPDY/3.1";
        context.Response.Headers.Connection = "Upgrade";
        await using var io = await upgrade.UpgradeAsync();
        await RunOverSpdyAsync(io, args, command, stdin, q["stdout"] != "false", q["stderr"] != "false", stopping);
    }

    private static Process Start(List<string> args)
    {
        var p = Process.Start(Podman.StartInfo(args, stdin: true))!;
        return p;
    }

    private static async Task RunOverWebSocketAsync(WebSocket ws, List<string> args, List<string> command, bool stdin, CancellationToken stopping)
    {
        using var p = Start(args);
        if (!stdin) p.StandardInput.Close();
        using var send = new SemaphoreSlim(1, 1);
        async Task SendAsync(byte channel, ReadOnlyMemory<byte> data)
        {
            var message = new byte[data.Length + 1];
            message[0] = channel;
            data.CopyTo(message.AsMemory(1));
            await send.WaitAsync(stopping);
            try
            {
                await ws.SendAsync(message, WebSocketMessageType.Binary, endOfMessage: true, stopping);
            }
            finally
            {
                send.Release();
            }
        }
        using var clientGone = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var receive = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var message = new MemoryStream();
                    WebSocketReceiveResult r;
                    do
                    {
                        r = await ws.ReceiveAsync(buffer, clientGone.Token);
                        if (r.MessageType == WebSocketMessageType.Close) return;
                        message.Write(buffer, 0, r.Count);
                    }
                    while (!r.EndOfMessage);
                    var m = message.ToArray();
                    if (m.Length == 0) continue;
                    if (m[0] == 0 && stdin && m.Length > 1)
                    {
                        await p.StandardInput.BaseStream.WriteAsync(m.AsMemory(1), clientGone.Token);
                        await p.StandardInput.BaseStream.FlushAsync(clientGone.Token);
                    }
                    else if (m[0] == 255 && m.Length > 1 && m[1] == 0 && stdin)
                    {
                        p.StandardInput.Close(); // v5: kubectl's stdin ended
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
                // kubectl went away
            }
            finally
            {
                if (!p.HasExited) clientGone.Cancel();
            }
        });
        async Task PumpAsync(Stream from, byte channel)
        {
            var buffer = new byte[32 * 1024];
            int n;
            while ((n = await from.ReadAsync(buffer, clientGone.Token)) > 0) await SendAsync(channel, buffer.AsMemory(0, n));
        }
        try
        {
            await Task.WhenAll(PumpAsync(p.StandardOutput.BaseStream, 1), PumpAsync(p.StandardError.BaseStream, 2), p.WaitForExitAsync(clientGone.Token));
            await SendAsync(3, Encoding.UTF8.GetBytes(ApiStatus.ExitStatus(p.ExitCode, command).ToJsonString()));
            await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", stopping);
            await receive.WaitAsync(TimeSpan.FromSeconds(10), stopping);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or TimeoutException)
        {
            // kubectl went away (killed, or Ctrl+C): the command goes with it
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
    }

    private async Task RunOverSpdyAsync(Stream io, List<string> args, List<string> command, bool stdin, bool stdout, bool stderr, CancellationToken stopping)
    {
        var expected = new List<string> { "error" };
        if (stdin) expected.Add("stdin");
        if (stdout) expected.Add("stdout");
        if (stderr) expected.Add("stderr");
        var streams = expected.ToDictionary(t => t, _ => new TaskCompletionSource<SpdyStream>(TaskCreationOptions.RunContinuationsAsynchronously));
        var connection = new SpdyConnection(io, s =>
        {
            if (s.Headers.TryGetValue("streamType", out var type) && streams.TryGetValue(type, out var slot)) slot.TrySetResult(s);
            return Task.CompletedTask;
        });
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var reading = connection.RunAsync(ended.Token);
        try
        {
            var all = await Task.WhenAll(streams.Values.Select(s => s.Task)).WaitAsync(TimeSpan.FromSeconds(30), stopping);
            var byType = expected.Zip(all).ToDictionary(x => x.First, x => x.Second);
            using var p = Start(args);
            if (stdin)
            {
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await byType["stdin"].Input.CopyToAsync(p.StandardInput.BaseStream, stopping);
                        // The client half-closed stdin. A v4-only server (older than 1.30) cannot tell the command.
                        if (!options.ExecV4Only) p.StandardInput.Close();
                    }
                    catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
                    {
                        // the command ended first
                    }
                }, CancellationToken.None);
            }
            else
            {
                p.StandardInput.Close();
            }
            async Task PumpAsync(Stream from, string type)
            {
                var buffer = new byte[32 * 1024];
                int n;
                byType.TryGetValue(type, out var to);
                while ((n = await from.ReadAsync(buffer, stopping)) > 0)
                    if (to is not null) await to.WriteAsync(buffer.AsMemory(0, n));
                if (to is not null) await to.CloseWriteAsync();
            }
            try
            {
                // Until the command ends, or kubectl goes away (connection closed: `reading` ends).
                var work = Task.WhenAll(PumpAsync(p.StandardOutput.BaseStream, "stdout"), PumpAsync(p.StandardError.BaseStream, "stderr"), p.WaitForExitAsync(stopping));
                await Task.WhenAny(work, reading);
                if (work.IsCompletedSuccessfully)
                {
                    var error = byType["error"];
                    await error.WriteAsync(Encoding.UTF8.GetBytes(ApiStatus.ExitStatus(p.ExitCode, command).ToJsonString()));
                    await error.CloseWriteAsync();
                    // kubectl closes the connection once it has read everything.
                    await reading.WaitAsync(TimeSpan.FromSeconds(10), stopping);
                }
            }
            finally
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or TimeoutException)
        {
            // kubectl went away
        }
        finally
        {
            await ended.CancelAsync();
            await reading.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
