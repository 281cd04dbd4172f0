using System.CommandLine;
using Wand.Cli;
using Wand.Cli.Commands;

var ui = ConsoleUi.Create();
var root = new RootCommand("wand: put real breakpoints into a running Python process (local, containers, Kubernetes), no restart needed.");
root.Subcommands.Add(PsCommand.Create(ui));
root.Subcommands.Add(ExecCommand.Create(ui));
root.Subcommands.Add(DebugCommand.Create(ui));
root.Subcommands.Add(PodsCommand.Create(ui));
root.Subcommands.Add(StacksCommand.Create(ui));
return await CommandRunner.InvokeAsync(root, args, ui);
