using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Wand.Errors;
using Wand.Progress;

namespace Wand.Transport.Kubernetes;

/// <summary>
/// A supervised <c>kubectl port-forward pod/NAME :REMOTE --address 127.0.0.1</c>: kubectl picks a free
/// local port (read from its "Forwarding from 127.0.0.1:N -&gt; REMOTE" line), its output is drained,
/// and it is started again whenever it exits (killed, network hiccup, pod replaced: kubectl ends with
/// its pod). It always points at the pod the <see cref="PodExecTarget"/> names now, so after a pod
/// replacement the next start reaches the new pod. wand's own listener on the user's port relays to it.
/// </summary>
public sealed class KubectlPortForward(PodExecTarget target, IProgressReporter progress, TimeProvider time) : IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    private readonly Supervisor _supervisor = new(time);
    private readonly Lock _gate = new();
    private Child? _child;
    private int _remotePort;

    /// <summary>How many times kubectl port-forward was started again after it ended.</summary>
    public int Restarts { get; private set; }

    /// <summary>The PID of the running kubectl port-forward (for diagnostics), or null.</summary>
    public int? ProcessId => _child is { Process.HasExited: false } c ? c.Process.Id : null;

    /// <summary>Points the forward at 127.0.0.1:<paramref name="remotePort"/> in the pod: starts kubectl, or restarts it when the port changed.</summary>
    public void Point(int remotePort)
    {
        Child? old = null;
        lock (_gate)
        {
            if (_remotePort != remotePort)
            {
                _remotePort = remotePort;
                old = _child;
            }
        }
        if (!_supervisor.Start(SuperviseAsync)) throw new ObjectDisposedException(nameof(KubectlPortForward));
        old?.Retire();
    }

    /// <summary>
    /// The target moved to another pod: the running kubectl (still forwarding to the old pod) ends and
    /// the supervisor starts one to the new pod at once, while debugpy is still being started there.
    /// </summary>
    public void Repoint()
    {
        Child? old;
        lock (_gate) old = _child;
        old?.Retire();
    }

    /// <summary>
    /// A connection to 127.0.0.1:<paramref name="remotePort"/> in the pod through the running kubectl
    /// port-forward; waits for it to (re)start when it is not ready.
    /// </summary>
    public async Task<Stream> ConnectAsync(int remotePort, CancellationToken cancellationToken)
    {
        Point(remotePort);
        var started = time.GetTimestamp();
        Exception? last = null;
        while (time.GetElapsedTime(started) < ConnectTimeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var child = _child;
            if (child is null || child.Port != remotePort)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken);
                continue;
            }
            if (child.Pod != target.Pod.Name)
            {
                child.Retire(); // the pod was replaced: the next start reaches the new one
                await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken);
                continue;
            }
            try
            {
                var local = await child.Ready.Task.WaitAsync(cancellationToken);
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(IPAddress.Loopback, local, cancellationToken);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (Exception e) when (e is WandException or SocketException)
            {
                last = e; // it ended before or while we connected: the supervisor starts it again
                await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken);
            }
        }
        throw last as WandException ?? new WandException(ExitCodes.KubectlFailed,
            $"kubectl port-forward to pod {target.Pod.Name} port {remotePort} did not become ready within {ConnectTimeout.TotalSeconds:0} s{(last is null ? "" : $": {last.Message}")}",
            "check that `kubectl port-forward` works with your cluster (RBAC: pods/portforward)");
    }

    private async Task SuperviseAsync()
    {
        while (!_supervisor.Stopping)
        {
            var pod = target.Pod.Name;
            int port;
            lock (_gate) port = _remotePort;
            Child child;
            try
            {
                child = Child.Start(target, port);
            }
            catch (ProcessRunner.NotInstalledException)
            {
                progress.Step("kubectl is no longer on PATH; the forward cannot start");
                await _supervisor.DelayAsync(MaxBackoff);
                continue;
            }
            lock (_gate) _child = child;
            var startedAt = time.GetTimestamp();
            try
            {
                await child.Process.WaitForExitAsync(_supervisor.Token);
            }
            catch (OperationCanceledException)
            {
                child.Retire();
                return;
            }
            child.Exited();
            if (child.Retired) continue; // pointed elsewhere on purpose
            Restarts++;
            await _supervisor.EndedAsync(time.GetElapsedTime(startedAt), TimeSpan.FromSeconds(2), () =>
                progress.Step($"kubectl port-forward to pod {pod} ended ({child.LastError ?? $"exit {child.Process.ExitCode}"}); starting it again"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!await _supervisor.StopAsync()) return;
        _child?.Retire();
        _child?.Process.Dispose();
    }

    /// <summary>One kubectl port-forward process.</summary>
    private sealed class Child
    {
        private const string ReadyPrefix = "Forwarding from 127.0.0.1:";
        private readonly Queue<string> _stderr = new();

        private Child(string pod, int port)
        {
            Pod = pod;
            Port = port;
        }

        public ChildProcess Process { get; private set; } = null!;
        public string Pod { get; }
        public int Port { get; }
        public TaskCompletionSource<int> Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool Retired { get; private set; }

        public string? LastError
        {
            get
            {
                lock (_stderr) return _stderr.Count == 0 ? null : string.Join(" ", _stderr).Trim();
            }
        }

        public static Child Start(PodExecTarget target, int remotePort)
        {
            var pod = target.Pod;
            var child = new Child(pod.Name, remotePort);
            child.Process = ProcessRunner.Start(target.Program, target.PortForwardArguments(remotePort), new ChildProcessOptions
            {
                OnOutputLine = line =>
                {
                    // "Forwarding from 127.0.0.1:40123 -> 5678"; "Handling connection for 5678" afterwards is drained.
                    if (!line.StartsWith(ReadyPrefix, StringComparison.Ordinal)) return;
                    var digits = line[ReadyPrefix.Length..].Split(' ')[0];
                    if (int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var local)) child.Ready.TrySetResult(local);
                },
                OnErrorLine = line =>
                {
                    if (string.IsNullOrWhiteSpace(line)) return;
                    lock (child._stderr)
                    {
                        child._stderr.Enqueue(line.Trim());
                        while (child._stderr.Count > 3) child._stderr.Dequeue();
                    }
                },
            });
            return child;
        }

        /// <summary>Ends this process on purpose (pointed elsewhere, or stopping).</summary>
        public void Retire()
        {
            Retired = true;
            Process.Kill();
            Exited();
        }

        /// <summary>The process has ended: anyone waiting for it to be ready learns why not.</summary>
        public void Exited() =>
            Ready.TrySetException(KubectlClient.Failure(LastError ?? "", Process.HasExited ? Process.ExitCode : -1));
    }
}
