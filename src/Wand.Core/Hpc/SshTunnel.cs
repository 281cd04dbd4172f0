using System.Diagnostics;
using Wand.Progress;

namespace Wand.Hpc;

/// <summary>
/// <c>ssh -N -L 127.0.0.1:LOCAL:HOST:PORT VIA</c>, kept alive: the system's ssh (so ~/.ssh/config,
/// agents, ProxyJump and host keys work as for the user), restarted with a back-off when it ends,
/// until cancelled. Readiness is ssh's own "Local forwarding listening" message (-v) and, on Linux,
/// the port in LISTEN state held by that ssh (/proc); never a probe connection (a bare connect to
/// debugpy's adapter disturbs the next client, TESTBED.md). When the user's ssh has a shared
/// connection running (ControlMaster), the forward is added to it (<c>ssh -O forward</c>) and lasts as
/// long as that master; otherwise it gets a connection of its own (ControlPath=none: a multiplexing
/// client, ssh 9.2 at least, ignores -N and starts a login shell, and its end says nothing about the
/// connection's).
/// </summary>
public sealed class SshTunnel(string via, IReadOnlyList<string> sshOptions, IProgressReporter progress)
{
    /// <summary>The read-only remote command that prints the session records (constant text: no user data in it).</summary>
    public const string ReadSessionsScript =
        "d=\"${RDG_SESSION_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rdg/sessions}\"; for f in \"$d\"/*.json; do [ -f \"$f\" ] && cat \"$f\" && echo; done; true";

    public IReadOnlyList<string> Arguments(params string[] rest) =>
        [.. sshOptions.SelectMany(o => new[] { "-o", o }), "-o", "BatchMode=yes", .. rest];

    /// <summary>
    /// The argv (after <c>ssh</c>) of the forward 127.0.0.1:<paramref name="localPort"/> to
    /// <paramref name="host"/>:<paramref name="port"/>. ssh keeps the first value it gets for an option, so
    /// the connection of its own (no ControlMaster) comes before the user's options, which come before
    /// ~/.ssh/config.
    /// </summary>
    public IReadOnlyList<string> ForwardArguments(int localPort, string host, int port) =>
        ["-o", "ControlMaster=no", "-o", "ControlPath=none",
            .. Arguments("-v", "-N", "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3",
                "-L", $"127.0.0.1:{localPort}:{host}:{port}", via)];

    /// <summary>How long reading the session records may take: one ssh connection and a few small files.</summary>
    public static readonly TimeSpan ReadSessionsTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The session records on the login node (its home is the cluster's).</summary>
    public async Task<IReadOnlyList<SessionRecord>> ReadSessionsAsync(CancellationToken cancellationToken)
    {
        var fix = "check that `ssh " + via + "` works in your terminal (keys, ~/.ssh/config)";
        Transport.ProcessResult r;
        try
        {
            r = await Transport.ProcessRunner.RunAsync("ssh", Arguments(via, "sh", "-c", "'" + ReadSessionsScript + "'"), "", ReadSessionsTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new Errors.WandException(Errors.ExitCodes.SshFailed, $"ssh {via} did not answer within {ReadSessionsTimeout.TotalSeconds:0} s", fix);
        }
        if (!r.Ok) throw new Errors.WandException(Errors.ExitCodes.SshFailed, $"ssh {via} failed: {LastLine(r.Stderr)}", fix);
        return SessionStore.ParseConcatenated(r.Stdout);
    }

    /// <summary>
    /// Runs the forward until <paramref name="cancellationToken"/>: <paramref name="onUp"/> each time ssh
    /// listens on the local end, <paramref name="onDown"/> (with the reason) each time a forward that was up ends.
    /// <paramref name="localPort"/> is asked for the local end before every attempt (a fresh free port each
    /// time suits an internal forward; a fixed one suits a port the user chose).
    /// </summary>
    public async Task RunAsync(Func<int> localPort, string host, int port, Action<SshForward> onUp, Action<SshForward, string> onDown, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(localPort);
        ArgumentNullException.ThrowIfNull(onUp);
        ArgumentNullException.ThrowIfNull(onDown);
        var attempt = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            attempt++;
            var local = localPort();
            string? why;
            try
            {
                var wasUp = false;
                void Up(SshForward forward)
                {
                    wasUp = true;
                    attempt = 0;
                    onUp(forward);
                }
                SshForward? forward;
                (forward, why) = await MasterPidAsync(cancellationToken) is { } master
                    ? await ThroughMasterAsync(master, local, host, port, Up, cancellationToken)
                    : await OwnConnectionAsync(local, host, port, Up, cancellationToken);
                if (wasUp && forward is not null) onDown(forward, why);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            var delay = TimeSpan.FromSeconds(Math.Min(10, attempt));
            progress.Step($"the tunnel ended ({why}); reconnecting in {delay.TotalSeconds:0} s");
            try
            {
                await Task.Delay(delay, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The forward on a connection of its own (ssh -N -L), until that ssh ends.</summary>
    private async Task<(SshForward? Forward, string Why)> OwnConnectionAsync(int local, string host, int port, Action<SshForward> onUp, CancellationToken cancellationToken)
    {
        var lastError = "";
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var message = $"Local forwarding listening on 127.0.0.1 port {local}";
        void OnError(string line)
        {
            if (!line.StartsWith("debug", StringComparison.Ordinal) && !line.StartsWith("Authenticated to", StringComparison.Ordinal)
                && !line.StartsWith("Transferred:", StringComparison.Ordinal))
                lastError = line;
            if (line.Contains(message, StringComparison.Ordinal)) listening.TrySetResult();
        }
        using var process = Transport.ProcessRunner.Start("ssh", ForwardArguments(local, host, port),
            new Transport.ChildProcessOptions { OnOutputLine = Transport.ChildProcessOptions.Drain, OnErrorLine = OnError });
        process.StandardInput.Close();
        var exited = process.WaitForExitAsync(cancellationToken);
        SshForward? forward = null;
        try
        {
            if (await Task.WhenAny(listening.Task, exited) == listening.Task && await ListenerBoundAsync(process.Id, local, () => exited.IsCompleted, cancellationToken))
            {
                forward = new SshForward(process.Id, local, ThroughMaster: false);
                onUp(forward);
            }
            await exited;
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }
        var why = process.ExitCode > 128 ? $"ssh was ended by signal {process.ExitCode - 128}" : $"ssh exit {process.ExitCode}";
        return (forward, lastError.Length > 0 ? $"{why}: {lastError}" : why);
    }

    /// <summary>
    /// The user's ssh already has a shared connection to the login node (ControlMaster in ~/.ssh/config,
    /// e.g. to answer a second factor once): the forward is added to that master (<c>ssh -O forward</c>),
    /// which then listens, and lasts as long as the master. Cancelled on the master when rdg stops.
    /// </summary>
    private async Task<(SshForward? Forward, string Why)> ThroughMasterAsync(int master, int local, string host, int port, Action<SshForward> onUp, CancellationToken cancellationToken)
    {
        var spec = $"127.0.0.1:{local}:{host}:{port}";
        var (code, said) = await RunSshAsync(Arguments("-O", "forward", "-L", spec, via), cancellationToken);
        if (code != 0) return (null, $"your ssh ControlMaster connection (PID {master}) refused the forward: {LastLine(said)}");
        bool Gone() => !Alive(master);
        try
        {
            if (!await ListenerBoundAsync(master, local, Gone, cancellationToken))
                return (null, $"your ssh ControlMaster connection (PID {master}) did not listen on 127.0.0.1:{local}");
            var forward = new SshForward(master, local, ThroughMaster: true);
            onUp(forward);
            while (!Gone()) await Task.Delay(500, cancellationToken);
            return (forward, $"your ssh ControlMaster connection (PID {master}) ended");
        }
        catch (OperationCanceledException)
        {
            if (!Gone()) await RunSshAsync(Arguments("-O", "cancel", "-L", spec, via), CancellationToken.None);
            throw;
        }
    }

    /// <summary>The PID of a running ControlMaster for <c>via</c> (<c>ssh -O check</c>), or null when there is none.</summary>
    private async Task<int?> MasterPidAsync(CancellationToken cancellationToken)
    {
        var (code, said) = await RunSshAsync(Arguments("-O", "check", via), cancellationToken);
        var at = said.IndexOf("(pid=", StringComparison.Ordinal);
        if (code != 0 || at < 0) return null;
        var end = said.IndexOf(')', at);
        return end > at && int.TryParse(said.AsSpan(at + 5, end - at - 5), out var pid) && Alive(pid) ? pid : null;
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static string LastLine(string text) => text.Trim().Split('\n')[^1];

    /// <summary>A short ssh control command (-O check/forward/cancel): its exit code and what it printed; at most 30 s.</summary>
    private static async Task<(int ExitCode, string Output)> RunSshAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        try
        {
            var r = await Transport.ProcessRunner.RunAsync("ssh", args, "", TimeSpan.FromSeconds(30), cancellationToken);
            return (r.ExitCode, r.Stdout + r.Stderr);
        }
        catch (TimeoutException)
        {
            return (-1, "ssh did not answer within 30 s");
        }
    }

    /// <summary>
    /// ssh said it listens; where /proc shows sockets (Linux), also wait until that 127.0.0.1 port is in
    /// LISTEN state and held by <paramref name="pid"/>: a check that never connects (a probe connection
    /// would reach debugpy's adapter as a client). False when <paramref name="gone"/> first.
    /// </summary>
    private static async Task<bool> ListenerBoundAsync(int pid, int port, Func<bool> gone, CancellationToken cancellationToken)
    {
        var procfs = Transport.Local.ProcFs.Default;
        if (!File.Exists($"{procfs.Root}/net/tcp")) return !gone();
        for (var i = 0; i < 100 && !gone(); i++)
        {
            if (HeldBy(procfs, pid, port)) return true;
            await Task.Delay(50, cancellationToken);
        }
        return !gone() && HeldBy(procfs, pid, port);
    }

    private static bool HeldBy(Transport.Local.ProcFs procfs, int pid, int port)
    {
        var inodes = procfs.ListeningSockets()
            .Where(s => s.Port == port && System.Net.IPAddress.IsLoopback(s.Address))
            .Select(s => $"socket:[{s.Inode}]").ToHashSet(StringComparer.Ordinal);
        if (inodes.Count == 0) return false;
        try
        {
            return Directory.EnumerateFiles(procfs.PathOf(pid, "fd")).Any(fd => new FileInfo(fd).LinkTarget is { } target && inodes.Contains(target));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A 127.0.0.1 port nobody listens on right now (for an internal forward; ssh binds it next).</summary>
    public static int FreeLoopbackPort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
