using System.CommandLine;
using Rdg.Cli;
using Rdg.Cli.Commands;
using Wand.Cli;

var ui = ConsoleUi.Create();
var root = new RootCommand("rdg: debug Python jobs on HPC clusters (Slurm) from your editor: run under the debugger, arm on demand, post-mortem, attach, tunnel.");
root.Subcommands.Add(InitCommand.Create(ui));
root.Subcommands.Add(DebugCommand.Create(ui));
root.Subcommands.Add(AttachCommand.Create(ui));
root.Subcommands.Add(TunnelCommand.Create(ui));
root.Subcommands.Add(StacksCommand.Create(ui));
root.Subcommands.Add(ApiCommand.CreatePath(ui));
root.Subcommands.Add(ApiCommand.CreateInstall(ui));
root.Subcommands.Add(NodeCommand.Create(ui));
return await CommandRunner.InvokeAsync(root, DebugArguments.Normalize(args), ui);
