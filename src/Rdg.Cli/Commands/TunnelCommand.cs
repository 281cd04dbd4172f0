using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Wand.Cli;
using Wand.Errors;
using Wand.Hpc;
using Wand.Session;
using Wand.Session.Proxy;

namespace Rdg.Cli.Commands;

/// <summary>
/// <c>rdg tunnel [JOB_ID] --via user@login</c> (on the laptop): reads the session record on the login
/// node over SSH, opens <c>ssh -L</c> to the job's debugger itself, keeps it open (reconnects), and
/// prints (or writes, --write-launch-json) the editor configuration with the real port and remoteRoot.
/// </summary>
/// <remarks>
/// The editor does not talk to ssh's forward directly: rdg listens on the local port through the DAP
/// proxy (<see cref="DapProxy"/>), and ssh forwards an internal 127.0.0.1 port (a fresh free one per
/// connection) to the job's debugpy. When ssh dies the proxy's backend is removed (the editor's
/// session stays open, its threads are reported exited), ssh is restarted, and once the new forward
/// listens the backend is added again: the proxy reconnects and replays the editor's breakpoints.
/// </remarks>
public static class TunnelCommand
{
    public static Command Create(IUserInterface ui)
    {
        var job = new Argument<string?>("JOB_ID") { Description = "the job (or PID) whose debugger to reach; default: the newest listening session", Arity = ArgumentArity.ZeroOrOne };
        var via = new Option<string>("--via") { Description = "user@login-host (any ~/.ssh/config host alias works)", Required = true };
        var localPort = new Option<int>("--local-port") { CustomParser = NumberOptions.PortOrZero, Description = "the port your editor connects to (rdg listens on it; 0 picks a free one)", DefaultValueFactory = _ => RdgDefaults.LocalPort };
        var sshOptions = new Option<string[]>("--ssh-option") { Description = "an extra ssh -o option (repeatable), e.g. Port=2222", AllowMultipleArgumentsPerToken = false };
        var reconnectWait = new Option<int>("--reconnect-timeout") { Description = "how long (seconds) the editor's session waits for a dropped SSH connection to come back before it ends", DefaultValueFactory = _ => 300 };
        var write = new Option<DirectoryInfo?>("--write-launch-json") { Description = "also update this workspace's .vscode/launch.json with the real port and remoteRoot", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("tunnel", "Open and keep the SSH tunnel from this machine to a job's debugger (the editor's session survives the connection dropping), and print the editor configuration")
        {
            job, via, localPort, sshOptions, reconnectWait, write,
        };
        command.SetAction(async (result, ct) =>
        {
            var tunnel = new SshTunnel(result.GetValue(via)!, result.GetValue(sshOptions) ?? [], ui);
            ui.Step($"reading rdg's session records on {result.GetValue(via)}");
            var records = await tunnel.ReadSessionsAsync(ct);
            var key = result.GetValue(job);
            var record = SessionStore.Select([.. records.Where(r => r.State == "listening" && r.Port is not null)], key)
                ?? throw new WandException(ExitCodes.ProcessNotFound,
                    records.Count == 0 ? $"no rdg sessions on {result.GetValue(via)}" : $"no listening rdg session{(key is null ? "" : $" for {key}")} on {result.GetValue(via)} (sessions: {string.Join("; ", records.Select(r => r.Describe()))})",
                    records.Any(r => r.State == "armed") ? "a lite session is armed: run `rdg attach` on the login node first" : "start the job with `rdg debug ...`");
            ui.Info($"session: {record.Describe()}");
            await using var proxy = StartProxy(result.GetValue(localPort), TimeSpan.FromSeconds(Math.Max(1, result.GetValue(reconnectWait))), ui);
            var local = proxy.LocalPort; // --local-port 0 picks a free one
            if (result.GetResult(write) is not null)
            {
                var workspace = (result.GetValue(write) ?? new DirectoryInfo(".")).FullName;
                var outcome = LaunchJsonFile.Update(workspace, new LaunchJsonSettings(local, record.RemotePath, record.ListenHost, record.Port));
                ui.Info(outcome.Changed ? $"updated {outcome.Path}" : $"{outcome.Path} is up to date");
            }
            ui.Out.WriteLine("VS Code (.vscode/launch.json, \"configurations\"):");
            ui.Out.WriteLine(EditorConfig.VsCodeJson($"rdg: {record.JobId ?? record.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)}", "localhost", local, "${workspaceFolder}", record.RemotePath));
            ui.Out.Flush();
            var backendKey = $"rdg {record.JobId ?? record.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            var description = $"{(record.JobId is null ? "" : $"job {record.JobId}, ")}PID {record.Pid} on {record.Node} via {result.GetValue(via)}";
            var ups = 0;
            await tunnel.RunAsync(SshTunnel.FreeLoopbackPort, record.ListenHost!, record.Port!.Value,
                forward =>
                {
                    proxy.AddBackend(backendKey, description, token => ConnectAsync(forward.LocalPort, token));
                    ui.Info($"tunnel up{(++ups > 1 ? " again" : "")}: localhost:{local} -> {record.ListenHost}:{record.Port} via {result.GetValue(via)} (forward 127.0.0.1:{forward.LocalPort}{(forward.ThroughMaster ? " on your ssh ControlMaster connection" : "")}, ssh PID {forward.SshPid}); "
                        + (ups > 1 ? "an open editor session continues by itself." : "press F5 in your editor.") + " Ctrl-C ends it.");
                },
                (_, _) => proxy.RemoveBackend(backendKey, "the SSH connection dropped; reconnecting"),
                ct);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static DapProxy StartProxy(int localPort, TimeSpan reconnectWait, IUserInterface ui)
    {
        try
        {
            return DapProxy.Start(localPort, ui, new DapProxyOptions { BackendWaitTimeout = reconnectWait });
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            throw new WandException(ExitCodes.PortInUse, $"local port {localPort} is already in use on this machine ({e.Message})",
                "pass --local-port with a free port (and use it in your editor configuration), or stop whatever holds it");
        }
    }

    /// <summary>The proxy's way to the job's debugpy: a fresh connection to ssh's internal forward.</summary>
    private static async Task<Stream> ConnectAsync(int forwardPort, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, forwardPort, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
