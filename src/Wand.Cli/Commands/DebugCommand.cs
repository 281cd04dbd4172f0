using System.CommandLine;
using System.Text.Json;
using Wand.Discovery;
using Wand.Errors;
using Wand.Injection;
using Wand.Injection.Debugpy;
using Wand.Session;
using Wand.Transport.Containers;
using Wand.Transport.Local;

namespace Wand.Cli.Commands;

/// <summary>
/// <c>wand debug [--pid PID]</c>: start debugpy inside a running local process without pausing it,
/// wait until it accepts editors, and print how to connect. <c>--stop</c> ends it again.
/// </summary>
public static class DebugCommand
{
    public const int DefaultPort = 5679;

    /// <summary>pydevd accepts the editor (or wand's proxy) itself, through debugpy's in-process adapter, unless
    /// WAND_DEBUGPY_ADAPTER=1 asks for debugpy's adapter process, as <c>debugpy.listen()</c> starts by default.</summary>
    internal static bool InProcessAdapter => Environment.GetEnvironmentVariable("WAND_DEBUGPY_ADAPTER") != "1";

    public static Command Create(IUserInterface ui)
    {
        var pid = new Option<int?>("--pid") { CustomParser = NumberOptions.Pid, Description = "PID of the Python process (inside the container with --container; omit to choose from a list)" };
        var container = ContainerOptions.Container();
        var runtime = ContainerOptions.Runtime();
        var route = ContainerOptions.Route();
        var keep = new Option<bool>("--keep") { Description = "leave debugpy running in the target when the session ends" };
        var detach = new Option<bool>("--detach") { Description = "start debugpy on --port and exit at once (no session: the editor connects to debugpy itself; end it with --stop)" };
        var all = new Option<bool>("--all")
        {
            Description = "debug every worker at once, each a child session in the editor (the default when the chosen process is one of several workers: gunicorn -w N, uvicorn --workers N); with -s, every Ready pod",
        };
        var one = new Option<bool>("--one") { Description = "debug only the chosen process (and whichever replaces it), even when the app has several workers or it is a supervisor (uvicorn --reload parent, gunicorn master) whose workers would be debugged instead" };
        var port = new Option<int>("--port", "-p") { CustomParser = NumberOptions.PortWithDefault, Description = "port debugpy listens on", DefaultValueFactory = _ => DefaultPort };
        var host = new Option<string>("--listen-host")
        {
            Description = "address debugpy binds to inside the target (loopback by default: debugpy runs code for whoever connects)",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var debugpy = new Option<string?>("--debugpy") { Description = "a debugpy package folder to lend to a target that has none" };
        var stop = new Option<bool>("--stop") { Description = "stop wand's debugpy in the target: its port closes and the app runs as before" };
        var yes = new Option<bool>("--yes", "-y") { Description = "never prompt: take the recommended process and the next free port" };
        var timeout = new Option<double>("--timeout") { Description = "seconds to wait for the target to reach a safe point", DefaultValueFactory = _ => 5 };
        var output = new Option<string>("--output", "-o") { Description = "text or json", DefaultValueFactory = _ => "text" };
        output.AcceptOnlyFromAmong("text", "json");
        var command = new Command("debug", "Start debugpy inside a running Python process (no restart, no pause) and show how to connect an editor")
        {
            pid, container, runtime, route, keep, detach, all, one, port, host, debugpy, stop, yes, timeout, output,
        };
        var kube = new KubeOptions();
        kube.AddTo(command);
        var podTarget = new Argument<string?>("TARGET") { Description = "a Kubernetes pod: pod/NAME (or use -s SERVICE, -l SELECTOR)", Arity = ArgumentArity.ZeroOrOne };
        command.Arguments.Add(podTarget);
        command.Validators.Add(r =>
        {
            if (r.GetValue(all) && r.GetValue(one)) r.AddError("--all and --one contradict each other: choose one");
        });
        command.SetAction(async (result, cancellationToken) =>
        {
            var procfs = ProcFs.Default;
            // Every worker, only one, or (null) every worker when the chosen process has sibling workers; a PID the user named is one process
            // (a supervisor's stands for its workers unless --one: see SupervisedWorkers).
            bool? allWorkers = result.GetValue(all) ? true : result.GetValue(one) || result.GetValue(pid) is not null ? false : null;
            var literal = result.GetValue(one);
            var safePoint = TimeSpan.FromSeconds(result.GetValue(timeout));
            var injectorRunner = new PayloadRunner(procfs, TimeProvider.System, ui);
            var injector = new DebugpyInjector(injectorRunner, DebugpyLocator.Default, ui);
            if (kube.Given(result, result.GetValue(podTarget)))
                return await PodSessions.DebugAsync(ui, kube, result, result.GetValue(podTarget), new PodSessions.DebugRequest(result.GetValue(pid), result.GetValue(stop), result.GetValue(yes),
                    result.GetValue(host)!, result.GetValue(port), result.GetValue(debugpy), safePoint, result.GetValue(keep), allWorkers, literal, result.GetValue(output) == "json"), cancellationToken);
            if (result.GetValue(container) is { } name)
            {
                var (found, containerRoute) = await ContainerOptions.ResolveAsync(ui, name, result.GetValue(runtime), result.GetValue(route)!, cancellationToken);
                var insidePid = result.GetValue(pid);
                PythonProcess Pick(IReadOnlyList<PythonProcess> processes) => insidePid is { } p
                    ? ContainerOptions.ByPidInside(containerRoute, processes, p, found)
                    : Prompts.Choose(ui, processes, result.GetValue(yes), $"container {found.Name}");
                if (result.GetValue(stop))
                {
                    var stopIn = Pick(await containerRoute.ScanAsync(cancellationToken)).Pid;
                    var stopped = await new DebugpyInjector(containerRoute.Runner, DebugpyLocator.Default, ui).StopAsync(stopIn, safePoint, cancellationToken);
                    ui.Info(stopped ? "debugpy stopped" : "wand's debugpy was not running there");
                    return ExitCodes.Ok;
                }
                var session = new DebugSession(containerRoute, DebugpyLocator.Default, ui, TimeProvider.System);
                var options = new DebugSession.Options(result.GetValue(host)!, result.GetValue(port), Prompts.ChooseLocalPort(ui, procfs, result.GetValue(port), result.GetValue(yes), forProxy: true),
                    result.GetValue(debugpy), safePoint, result.GetValue(keep), allWorkers) { One = literal, Direct = InProcessAdapter };
                var observer = new SessionObserver(ui, containerRoute, () => (new System.Text.Json.Nodes.JsonObject { ["container"] = found.Name }, $"{found.RuntimeName} container {found.Name}"), result.GetValue(output) == "json");
                var followed = new FollowedContainer(new ContainerLocator([found.Runtime]), found, containerRoute);
                return await SessionEnd.AfterCtrlCAsync(ui, ct => session.RunAsync(followed, Pick, options, observer, null, ct), options.Keep, "the container", cancellationToken);
            }

            var target = result.GetValue(pid) ?? Prompts.Choose(ui, await ScanAsync(ui, cancellationToken), result.GetValue(yes), "this machine").Pid;

            // A supervisor runs no app code (see SupervisedWorkers): --stop and --detach act on its workers unless --one.
            var supervised = literal || !(result.GetValue(stop) || result.GetValue(detach)) ? null : await SupervisedAsync(ui, target, cancellationToken);
            if (result.GetValue(stop))
            {
                if (supervised is { Workers.Count: > 0 })
                    return await StopSupervisedAsync(ui, injector, supervised, safePoint, cancellationToken);
                var wasListening = await injector.StopAsync(target, safePoint, cancellationToken);
                ui.Info(wasListening ? $"debugpy stopped in PID {target}; the app runs as before" : $"wand's debugpy was not running in PID {target}; nothing to stop");
                return ExitCodes.Ok;
            }

            if (result.GetValue(detach))
            {
                if (supervised is not null) target = DetachedTarget(ui, supervised);
                var listenPort = Prompts.ChooseLocalPort(ui, procfs, result.GetValue(port), result.GetValue(yes), target: target);
                ui.Step($"starting debugpy in PID {target} on {result.GetValue(host)}:{listenPort} (the app keeps running)");
                var direct = new DebugpyInjector(injectorRunner, DebugpyLocator.Default, ui) { Direct = InProcessAdapter };
                var endpoint = await direct.StartAsync(target, result.GetValue(host)!, listenPort, result.GetValue(debugpy), safePoint, cancellationToken);
                if (result.GetValue(output) == "json") await ui.Out.WriteLineAsync(JsonSerializer.Serialize(endpoint, CliJson.Default.DebugpyEndpoint));
                else Describe(ui, endpoint);
                return ExitCodes.Ok;
            }
            return await RunLocalSessionAsync(ui, target, new DebugSession.Options(result.GetValue(host)!, result.GetValue(port),
                Prompts.ChooseLocalPort(ui, procfs, result.GetValue(port), result.GetValue(yes), forProxy: true), result.GetValue(debugpy), safePoint, result.GetValue(keep), allWorkers) { One = literal, Direct = InProcessAdapter },
                result.GetValue(output) == "json", cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// The local session: wand's DAP proxy on the user's port, debugpy on the next free port in the
    /// target, and the app's other processes (a reloader's next worker, gunicorn's respawned one) followed.
    /// </summary>
    private static async Task<int> RunLocalSessionAsync(IUserInterface ui, int pid, DebugSession.Options options, bool json, CancellationToken cancellationToken)
    {
        var route = new LocalRoute(pid, ProcFs.Default, TimeProvider.System, ui);
        var session = new DebugSession(route, DebugpyLocator.Default, ui, TimeProvider.System);
        PythonProcess Pick(IReadOnlyList<PythonProcess> processes) => processes.FirstOrDefault(p => p.Pid == pid)
            ?? throw new WandException(ExitCodes.ProcessNotFound, $"PID {pid} is not a Python process this user can see", "list them with `wand ps`");
        var observer = new SessionObserver(ui, route, () => ([], "this machine"), json);
        return await SessionEnd.AfterCtrlCAsync(ui, ct => session.RunAsync(null, Pick, options, observer, null, ct), options.Keep, "the app", cancellationToken);
    }

    /// <summary>The workers of <paramref name="pid"/> when it is a supervisor (gunicorn master, uvicorn --reload parent); else null.</summary>
    private static async Task<SupervisedWorkers?> SupervisedAsync(IUserInterface ui, int pid, CancellationToken cancellationToken)
    {
        var family = await new LocalRoute(pid, ProcFs.Default, TimeProvider.System, ui).ScanAsync(cancellationToken);
        return family.FirstOrDefault(p => p.Pid == pid) is { } named ? SupervisedWorkers.Of(family, named) : null;
    }

    /// <summary>
    /// --detach with a supervisor's PID: its only worker (nothing follows the one that replaces it: that is
    /// the session's job), never several at once.
    /// </summary>
    private static int DetachedTarget(IUserInterface ui, SupervisedWorkers supervised)
    {
        PythonProcess chosen;
        try
        {
            chosen = supervised.DetachedTarget();
        }
        catch (SeveralWorkersException e)
        {
            throw new WandException(e.ExitCode, e.Message,
                $"debug them all through wand's session: `wand debug --pid {e.Supervisor}` (without --detach), or one: `wand debug --pid {e.Workers[0]} --detach`", e);
        }
        ui.Step(chosen == supervised.Supervisor ? supervised.Describe(p => p)
            : $"{supervised.What(p => p)}; debugging its worker PID {chosen.Pid} (without a session, the worker that replaces it after a reload or respawn is not debugged: leave out --detach to follow it)");
        return chosen.Pid;
    }

    /// <summary>--stop with a supervisor's PID: wand's debugpy runs in its workers (or, after --one, in the supervisor itself).</summary>
    private static async Task<int> StopSupervisedAsync(IUserInterface ui, DebugpyInjector injector, SupervisedWorkers supervised, TimeSpan safePoint, CancellationToken cancellationToken)
    {
        var stoppedIn = new List<int>();
        foreach (var p in (IEnumerable<PythonProcess>)[.. supervised.Workers, supervised.Supervisor])
            if (await injector.StopAsync(p.Pid, safePoint, cancellationToken)) stoppedIn.Add(p.Pid);
        var family = $"the {supervised.Supervisor.RoleDetail ?? "reloader"} PID {supervised.Supervisor.Pid} and its workers PID {string.Join(", ", supervised.Workers.Select(w => w.Pid).Order())}";
        ui.Info(stoppedIn.Count > 0
            ? $"debugpy stopped in PID {string.Join(", ", stoppedIn.Order())} (of {family}); the app runs as before"
            : $"wand's debugpy was not running in {family}; nothing to stop");
        return ExitCodes.Ok;
    }

    private static Task<IReadOnlyList<PythonProcess>> ScanAsync(IUserInterface ui, CancellationToken cancellationToken) =>
        new PythonProcessScanner(progress: ui).ScanAsync(null, cancellationToken);

    internal static void Describe(IUserInterface ui, DebugpyEndpoint e, int? localPort = null)
    {
        var t = e.Target;
        ui.Info(e.Reused
            ? $"debugpy was already listening in PID {t.Pid}: reusing {e.Host}:{e.Port}"
            : $"debugpy {e.DebugpyVersion} is listening in PID {t.Pid} on {e.Host}:{e.Port} (Python {t.Python}); the app keeps running");
        if (e.CopiedFrom is not null) ui.Info($"the target had no debugpy: wand lent it {e.CopiedFrom} (removed by `wand debug --pid {t.Pid} --stop`)");
        var name = $"wand: PID {t.Pid}";
        var localRoot = t.HostRoot != "/" && t.LocalRootOnThisMachine is { } l && Directory.Exists(l) ? l : "${workspaceFolder}";
        var o = ui.Out;
        var (connectHost, connectPort) = localPort is { } lp ? ("127.0.0.1", lp) : (e.Host, e.Port);
        o.WriteLine($"Connect your editor to {connectHost}:{connectPort}" + (localPort is null ? "" : $" (wand's session; it relays to debugpy on {e.Host}:{e.Port} in the target, and to the next process when this one is replaced)"));
        o.WriteLine($"  working directory: {t.Cwd}");
        o.WriteLine($"  main script:       {t.MainFile ?? "(none: python -c or interactive)"}");
        o.WriteLine($"  remote root:       {t.RemoteRoot}{(t.HostRoot != "/" ? $"  (the process lives in {t.HostRoot})" : "")}");
        o.WriteLine();
        o.WriteLine("VS Code (.vscode/launch.json, \"configurations\"):");
        o.WriteLine(EditorConfig.VsCodeJson(name, connectHost, connectPort, localRoot, t.RemoteRoot));
        o.WriteLine();
        o.WriteLine("Neovim (nvim-dap):");
        o.WriteLine(EditorConfig.NvimDap(name, connectHost, connectPort, localRoot == "${workspaceFolder}" ? null : localRoot, t.RemoteRoot));
        o.WriteLine();
        o.WriteLine(localPort is null ? $"Stop with: wand debug --pid {t.Pid} --stop" : "Press Ctrl+C to end the session (debugpy is stopped in the target unless --keep).");
        o.Flush();
    }
}
