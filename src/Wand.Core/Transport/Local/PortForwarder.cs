using System.Net;
using System.Net.Sockets;
using Wand.Progress;

namespace Wand.Transport.Local;

/// <summary>
/// Forwards 127.0.0.1:LOCAL on this machine to 127.0.0.1:REMOTE inside the network namespace of a
/// process (a container's), so debugpy can stay bound to loopback in the container and no port has
/// to be published. Connections are made only when a client connects: the target's port is never
/// probed. The namespace process can change (container restart) while the forward runs.
/// </summary>
public sealed class PortForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<int> _namespacePid;
    private readonly Func<int> _remotePort;
    private readonly IProgress _progress;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private CancellationTokenSource _connections = new();

    private PortForwarder(TcpListener listener, Func<int> namespacePid, Func<int> remotePort, IProgress progress)
    {
        _listener = listener;
        _namespacePid = namespacePid;
        _remotePort = remotePort;
        _progress = progress;
        _acceptLoop = AcceptLoopAsync();
    }

    public int LocalPort => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Starts listening on 127.0.0.1:<paramref name="localPort"/> (0 picks a free port).</summary>
    public static PortForwarder Start(int localPort, Func<int> namespacePid, Func<int> remotePort, IProgress progress)
    {
        var listener = new TcpListener(IPAddress.Loopback, localPort);
        listener.Start();
        return new PortForwarder(listener, namespacePid, remotePort, progress);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using (client)
        {
            Socket remote;
            try
            {
                remote = NetworkNamespace.CreateSocketIn(_namespacePid());
                await remote.ConnectAsync(IPAddress.Loopback, _remotePort(), _stop.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _progress.Step($"forward to port {_remotePort()} in the container failed: {e.Message}");
                return;
            }
            using (remote)
            {
                using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, _connections.Token);
                var a = PumpAsync(client, remote, done.Token);
                var b = PumpAsync(remote, client, done.Token);
                await Task.WhenAny(a, b);
                done.Cancel();
                await Task.WhenAll(a.ContinueWith(_ => { }), b.ContinueWith(_ => { }));
            }
        }
    }

    private static async Task PumpAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var n = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                to.Shutdown(SocketShutdown.Send);
                return;
            }
            await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, cancellationToken);
        }
    }

    /// <summary>Closes the connections relayed so far (their backend went away); the listener stays.</summary>
    public void DropConnections()
    {
        var old = Interlocked.Exchange(ref _connections, new CancellationTokenSource());
        old.Cancel(); // not disposed: a relay may be linking to it right now
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _acceptLoop;
        _stop.Dispose();
        _connections.Dispose();
    }
}
