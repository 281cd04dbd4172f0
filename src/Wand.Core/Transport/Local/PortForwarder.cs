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
    private readonly Func<CancellationToken, Task<Stream>> _connect;
    private readonly IProgress _progress;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private CancellationTokenSource _connections = new();

    private PortForwarder(TcpListener listener, Func<CancellationToken, Task<Stream>> connect, IProgress progress)
    {
        _listener = listener;
        _connect = connect;
        _progress = progress;
        _acceptLoop = AcceptLoopAsync();
    }

    public int LocalPort => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>
    /// Starts listening on 127.0.0.1:<paramref name="localPort"/> (0 picks a free port); each client is
    /// relayed to a fresh connection from <paramref name="connect"/> (into a network namespace, or
    /// through a runtime's exec).
    /// </summary>
    public static PortForwarder Start(int localPort, Func<CancellationToken, Task<Stream>> connect, IProgress progress)
    {
        var listener = new TcpListener(IPAddress.Loopback, localPort);
        listener.Start();
        return new PortForwarder(listener, connect, progress);
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
        await using (var local = new NetworkStream(client, ownsSocket: false))
        {
            Stream remote;
            try
            {
                remote = await _connect(_stop.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _progress.Step($"forward into the container failed: {e.Message}");
                return;
            }
            await using (remote)
            {
                using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, _connections.Token);
                var a = PumpAsync(local, remote, done.Token);
                var b = PumpAsync(remote, local, done.Token);
                await Task.WhenAny(a, b);
                done.Cancel();
                await Task.WhenAll(a.ContinueWith(_ => { }), b.ContinueWith(_ => { }));
            }
        }
    }

    private static async Task PumpAsync(Stream from, Stream to, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await from.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await to.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            await to.FlushAsync(cancellationToken);
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
