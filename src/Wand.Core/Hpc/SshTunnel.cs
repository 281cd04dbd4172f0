using System.Diagnostics;
using Wand.Progress;

namespace Wand.Hpc;

/// <summary>
/// <c>ssh -N -L 127.0.0.1:LOCAL:HOST:PORT VIA</c>, kept alive: the system's ssh (so ~/.ssh/config,
/// agents, ProxyJump and host keys work as for the user), restarted with a back-off when it ends,
/// until cancelled. Readiness is ssh's own "Local forwarding listening" message (-v), never a probe
/// connection (a bare connect to debugpy's adapter disturbs the next client, TESTBED.md).
/// </summary>
public sealed class SshTunnel(string via, IReadOnlyList<string> sshOptions, IProgress progress)
{
    /// <summary>The read-only remote command that prints the session records (constant text: no user data in it).</summary>
    public const string ReadSessionsScript =
        "d=\"${RDG_SESSION_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rdg/sessions}\"; for f in \"$d\"/*.json; do [ -f \"$f\" ] && cat \"$f\" && echo; done; true";

    public IReadOnlyList<string> Arguments(params string[] rest) =>
        [.. sshOptions.SelectMany(o => new[] { "-o", o }), "-o", "BatchMode=yes", .. rest];

    /// <summary>The session records on the login node (its home is the cluster's).</summary>
    public async Task<IReadOnlyList<SessionRecord>> ReadSessionsAsync(CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo("ssh") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in Arguments(via, "sh", "-c", "'" + ReadSessionsScript + "'")) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start ssh");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
            throw new Errors.WandException(Errors.ExitCodes.ProcessNotFound, $"ssh {via} failed: {(await stderr).Trim().Split('\n')[^1]}",
                "check that `ssh " + via + "` works in your terminal (keys, ~/.ssh/config)");
        return SessionStore.ParseConcatenated(await stdout);
    }

    /// <summary>Runs the forward until <paramref name="cancellationToken"/>; <paramref name="onUp"/> each time it (re)connects.</summary>
    public async Task RunAsync(int localPort, string host, int port, Action<int> onUp, CancellationToken cancellationToken)
    {
        var attempt = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            attempt++;
            var psi = new ProcessStartInfo("ssh") { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
            foreach (var a in Arguments("-v", "-N", "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3",
                         "-L", $"127.0.0.1:{localPort}:{host}:{port}", via))
                psi.ArgumentList.Add(a);
            using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start ssh");
            process.StandardInput.Close();
            var lastError = "";
            var up = false;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                if (!e.Data.StartsWith("debug", StringComparison.Ordinal)) lastError = e.Data;
                if (!up && e.Data.Contains($"Local forwarding listening on 127.0.0.1 port {localPort}", StringComparison.Ordinal))
                {
                    up = true;
                    attempt = 0;
                    onUp(process.Id);
                }
            };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return;
            }
            var delay = TimeSpan.FromSeconds(Math.Min(10, attempt));
            progress.Step($"the tunnel ended (ssh exit {process.ExitCode}{(lastError.Length > 0 ? $": {lastError}" : "")}); reconnecting in {delay.TotalSeconds:0} s");
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
}
