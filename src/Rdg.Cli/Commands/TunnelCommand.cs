using System.CommandLine;
using Wand.Cli;
using Wand.Errors;
using Wand.Hpc;
using Wand.Session;

namespace Rdg.Cli.Commands;

/// <summary>
/// <c>rdg tunnel [JOB_ID] --via user@login</c> (on the laptop): reads the session record on the login
/// node over SSH, opens <c>ssh -L</c> to the job's debugger itself, keeps it open (reconnects), and
/// prints (or writes, --write-launch-json) the editor configuration with the real port and remoteRoot.
/// </summary>
public static class TunnelCommand
{
    public static Command Create(IUserInterface ui)
    {
        var job = new Argument<string?>("JOB_ID") { Description = "the job (or PID) whose debugger to reach; default: the newest listening session", Arity = ArgumentArity.ZeroOrOne };
        var via = new Option<string>("--via") { Description = "user@login-host (any ~/.ssh/config host alias works)", Required = true };
        var localPort = new Option<int>("--local-port") { Description = "the local end of the tunnel", DefaultValueFactory = _ => RdgDefaults.LocalPort };
        var sshOptions = new Option<string[]>("--ssh-option") { Description = "an extra ssh -o option (repeatable), e.g. Port=2222", AllowMultipleArgumentsPerToken = false };
        var write = new Option<DirectoryInfo?>("--write-launch-json") { Description = "also update this workspace's .vscode/launch.json with the real port and remoteRoot", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("tunnel", "Open and keep the SSH tunnel from this machine to a job's debugger, and print the editor configuration")
        {
            job, via, localPort, sshOptions, write,
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
            var local = result.GetValue(localPort);
            ui.Info($"session: {record.Describe()}");
            if (result.GetResult(write) is not null)
            {
                var workspace = (result.GetValue(write) ?? new DirectoryInfo(".")).FullName;
                var outcome = LaunchJsonFile.Update(workspace, new LaunchJsonSettings(local, record.RemotePath, record.ListenHost, record.Port));
                ui.Info(outcome.Changed ? $"updated {outcome.Path}" : $"{outcome.Path} is up to date");
            }
            ui.Out.WriteLine("VS Code (.vscode/launch.json, \"configurations\"):");
            ui.Out.WriteLine(EditorConfig.VsCodeJson($"rdg: {record.JobId ?? record.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)}", "localhost", local, "${workspaceFolder}", record.RemotePath));
            ui.Out.Flush();
            await tunnel.RunAsync(local, record.ListenHost!, record.Port!.Value,
                sshPid => ui.Info($"tunnel up: localhost:{local} -> {record.ListenHost}:{record.Port} via {result.GetValue(via)} (ssh PID {sshPid}); press F5 in your editor. Ctrl-C ends it."), ct);
            return ExitCodes.Ok;
        });
        return command;
    }
}
