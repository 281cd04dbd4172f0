using System.CommandLine;
using Wand.Cli;
using Wand.Errors;
using Wand.Hpc;

namespace Rdg.Cli.Commands;

/// <summary>
/// <c>rdg init</c>: adds rdg's two attach configurations (SSH tunnel, compute node) and their inputs to
/// <c>.vscode/launch.json</c>, keeping everything else in the file as it was (JSONC: comments, trailing commas).
/// </summary>
public static class InitCommand
{
    public static Command Create(IUserInterface ui)
    {
        var dir = new Option<DirectoryInfo>("--workspace", "-w") { Description = "the project folder (its .vscode/launch.json is edited)", DefaultValueFactory = _ => new DirectoryInfo(".") };
        var port = new Option<int?>("--port") { CustomParser = NumberOptions.Port, Description = $"the local tunnel port to write in (default: an input prompt with default {RdgDefaults.LocalPort})" };
        var remoteRoot = new Option<string?>("--remote-root") { Description = "the project's folder on the cluster, for pathMappings (default: an input prompt)" };
        var fromSession = new Option<string?>("--from-session")
        {
            Description = "fill in the real node, port and remote path of a session recorded by `rdg debug` (a job id, a PID, or 'latest')",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("init", "Create or update .vscode/launch.json with rdg's attach configurations (comments and other configurations are kept)")
        {
            dir, port, remoteRoot, fromSession,
        };
        command.SetAction(result =>
        {
            var settings = new LaunchJsonSettings(result.GetValue(port), result.GetValue(remoteRoot));
            if (result.GetResult(fromSession) is not null)
            {
                var session = SessionStore.Default.Find(result.GetValue(fromSession))
                    ?? throw new WandException(ExitCodes.ProcessNotFound, $"no rdg session recorded{(result.GetValue(fromSession) is { } s ? $" for '{s}'" : "")} in {SessionStore.Default.Folder}",
                        "start your job with `rdg debug ...` first (its session record is written when the debugger listens)");
                settings = new LaunchJsonSettings(settings.LocalPort ?? session.LocalPort, settings.RemoteRoot ?? session.RemotePath, session.ListenHost ?? session.Node, session.Port);
                ui.Step($"using session {session.Describe()}");
            }
            var port2 = settings.LocalPort;
            if (port2 is < 1 or > 65535) throw new WandException(ExitCodes.Usage, $"--port {port2} is not a TCP port", "pass a number from 1 to 65535");
            var outcome = LaunchJsonFile.Update(result.GetValue(dir)!.FullName, settings);
            if (outcome.BackupPath is not null)
                ui.Warn($"{outcome.Path} could not be parsed ({outcome.ParseError}); it was copied to {outcome.BackupPath} and a new file was written");
            foreach (var note in outcome.Notes) ui.Warn(note);
            ui.Info(outcome.Created ? $"created {outcome.Path}"
                : outcome.Changed ? $"updated {outcome.Path} (other configurations and comments kept)"
                : $"{outcome.Path} is up to date");
            ui.Out.WriteLine($"In VS Code: Run and Debug → \"{LaunchJsonSettings.TunnelName}\" (after `rdg tunnel` or the printed ssh -L command)");
            ui.Out.WriteLine($"        or: \"{LaunchJsonSettings.NodeName}\" (from VS Code Remote-SSH on the login node)");
            return ExitCodes.Ok;
        });
        return command;
    }
}
