using System.CommandLine;
using Wand.Errors;
using Wand.Injection;

namespace Wand.Cli.Commands;

/// <summary><c>wand exec --pid PID (FILE | -c CODE)</c>: run code inside a live process and show what it printed.</summary>
public static class ExecCommand
{
    public static Command Create(IUserInterface ui)
    {
        var pid = new Option<int?>("--pid") { CustomParser = NumberOptions.Pid, Description = "PID of the Python process (see `wand ps`); inside the container with --container" };
        var container = ContainerOptions.Container();
        var runtime = ContainerOptions.Runtime();
        var route = ContainerOptions.Route();
        var code = new Option<string?>("--code", "-c") { Description = "Python code to run" };
        var file = new Argument<FileInfo?>("FILE") { Description = "Python file to run", Arity = ArgumentArity.ZeroOrOne };
        var timeout = new Option<double>("--timeout")
        {
            Description = "seconds to wait for the target to reach a safe point (run Python code), then seconds the code may run before it is interrupted in the target",
            DefaultValueFactory = _ => 5,
        };
        var command = new Command("exec", "Run Python code inside a running process and print its output and traceback") { pid, container, runtime, route, code, file, timeout };
        var kube = new KubeOptions();
        kube.AddTo(command);
        var allPods = new Option<bool>("--all-pods") { Description = "with -s/-l: run the code in every Ready pod and print the results per pod" };
        var script = new Option<FileInfo?>("--script") { Description = "Python file to run (debugwand's spelling of FILE)" };
        command.Options.Add(allPods);
        command.Options.Add(script);
        command.Aliases.Add("inject"); // debugwand's name for it: `wand inject -n NS -s SVC -c FILE`
        command.SetAction(async (result, cancellationToken) =>
        {
            var codeValue = result.GetValue(code);
            var fileValue = result.GetValue(file) ?? result.GetValue(script);
            if (result.CommandResult.IdentifierToken.Value == "inject" && fileValue is null && codeValue is not null && File.Exists(codeValue))
            {
                ui.Info($"`wand inject -c {codeValue}`: -c names a script file here, as in debugwand (with `wand exec`, -c takes code)");
                (fileValue, codeValue) = (new FileInfo(codeValue), null);
            }
            var (source, name) = ReadSource(codeValue, fileValue);
            var timeLimit = TimeSpan.FromSeconds(result.GetValue(timeout));
            if (kube.Given(result) && result.GetValue(allPods))
            {
                return await PodSessions.ExecInAllPodsAsync(ui, kube, result, source, name, timeLimit, cancellationToken);
            }
            ExecResult exec;
            try
            {
                exec = await RunInTargetAsync();
            }
            catch (ExecTimeoutException e) when (e.Partial is { } partial)
            {
                await PrintAsync(ui, partial, cancellationToken);
                throw;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw new WandException(ExitCodes.Cancelled, "cancelled: wand withdrew its request; code that had started is interrupted in the target (code blocked in C once it returns to Python)");
            }
            await PrintAsync(ui, exec, cancellationToken);
            return exec.Ok ? ExitCodes.Ok : ExitCodes.CodeRaised;

            async Task<ExecResult> RunInTargetAsync()
            {
                if (kube.Given(result))
                    return await PodSessions.ExecAsync(ui, kube, result, result.GetValue(pid), source, name, timeLimit, cancellationToken);
                if (result.GetValue(container) is { } containerName)
                {
                    var (found, containerRoute) = await ContainerOptions.ResolveAsync(ui, containerName, result.GetValue(runtime), result.GetValue(route)!, cancellationToken);
                    var processes = await containerRoute.ScanAsync(cancellationToken);
                    var target = result.GetValue(pid) is { } inside
                        ? ContainerOptions.ByPidInside(containerRoute, processes, inside, found)
                        : Prompts.Choose(ui, processes, true, $"container {found.Name}");
                    return await new CodeRunner(containerRoute.Runner).RunAsync(target.Pid, source, name, timeLimit, cancellationToken);
                }
                var local = result.GetValue(pid) ?? throw new WandException(ExitCodes.Usage, "give --pid PID (or --container NAME)", "run `wand ps` to find the PID");
                return await new CodeRunner(new PayloadRunner(Transport.Local.ProcFs.Default, TimeProvider.System, ui)).RunAsync(local, source, name, timeLimit, cancellationToken);
            }
        });
        return command;
    }

    private static async Task PrintAsync(IUserInterface ui, ExecResult exec, CancellationToken cancellationToken)
    {
        await ui.Out.WriteAsync(exec.Stdout);
        await ui.Out.FlushAsync(cancellationToken);
        await Console.Error.WriteAsync(exec.Stderr);
        if (exec.Traceback is not null) await Console.Error.WriteAsync(exec.Traceback);
    }

    private static (string Source, string Name) ReadSource(string? code, FileInfo? file)
    {
        if ((code is null) == (file is null))
            throw new WandException(ExitCodes.Usage, "give exactly one of FILE or -c CODE", "example: wand exec --pid 1234 -c 'print(42)'");
        if (code is not null) return (code, "<wand exec>");
        if (!file!.Exists) throw new WandException(ExitCodes.Usage, $"no such file: {file.FullName}");
        return (File.ReadAllText(file.FullName), file.Name);
    }
}
