using System.CommandLine;
using Wand.Cli;
using Wand.Errors;
using Wand.Hpc;
using Wand.Transport;

namespace Rdg.Cli.Commands;

/// <summary>
/// The <c>remote_debug</c> Python module (start_debugger, pause) outside <c>rdg debug</c> (which makes it
/// importable by itself): <c>rdg api --path</c> writes it into a per-user folder and prints that folder
/// for PYTHONPATH; <c>rdg install-api [--python PATH]</c> puts it where that interpreter finds it (the
/// venv's site-packages, else the user site).
/// </summary>
public static class ApiCommand
{
    public static Command CreatePath(IUserInterface ui)
    {
        var path = new Option<bool>("--path") { Description = "print the folder to put on PYTHONPATH" };
        var command = new Command("api", "Where the remote_debug Python module is (import remote_debug; remote_debug.start_debugger())") { path };
        command.SetAction(result =>
        {
            var folder = DebugLauncher.WriteApi(Path.Combine(Path.GetDirectoryName(SessionStore.Default.Folder)!, "api"));
            ui.Out.WriteLine(folder);
            if (!result.GetValue(path)) ui.Info($"export PYTHONPATH={folder}:$PYTHONPATH   (or: rdg install-api --python /path/to/python)");
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command CreateInstall(IUserInterface ui)
    {
        var python = new Option<string>("--python") { Description = "the interpreter that should find remote_debug (a venv's python, python3.12, ...)", DefaultValueFactory = _ => "python3" };
        var command = new Command("install-api", "Install the remote_debug module for an interpreter (its venv, else its user site)") { python };
        command.SetAction(async (result, ct) =>
        {
            var name = result.GetValue(python)!;
            var interpreter = name.Contains('/') ? name : ProgramCommand.Which(name, Environment.GetEnvironmentVariable("PATH"))
                ?? throw new WandException(ExitCodes.Usage, $"'{name}' was not found on PATH", "pass --python /path/to/python");
            ProcessResult p;
            try
            {
                p = await ProcessRunner.RunAsync(interpreter, ["-c", "import site, sys, sysconfig\nprint(sysconfig.get_paths()['purelib'] if sys.prefix != sys.base_prefix else site.getusersitepackages())"],
                    null, TimeSpan.FromSeconds(60), ct);
            }
            catch (ProcessRunner.NotInstalledException)
            {
                throw new WandException(ExitCodes.Usage, $"could not run {interpreter}", "pass --python /path/to/python");
            }
            catch (TimeoutException e)
            {
                throw new WandException(ExitCodes.NotPython, e.Message, "pass the interpreter of your venv with --python");
            }
            var folder = p.Stdout.Trim();
            if (!p.Ok || folder.Length == 0)
                throw new WandException(ExitCodes.NotPython, $"{interpreter} did not say where its packages go: {p.Stderr.Trim()}", "pass the interpreter of your venv with --python");
            DebugLauncher.WriteApi(folder);
            ui.Info($"remote_debug installed in {folder} for {interpreter}");
            ui.Out.WriteLine(Path.Combine(folder, DebugLauncher.ApiFile));
            return ExitCodes.Ok;
        });
        return command;
    }
}
