using System.CommandLine;
using Wand.Errors;
using Wand.Session;
using Wand.Stacks;
using Wand.Transport.Exec;
using Wand.Transport.Kubernetes;

namespace Wand.Cli.Commands;

/// <summary>
/// <c>wand stacks --pid PID [-o json] [--locals]</c>: every thread's Python stack read from the target's
/// memory, with its name, GIL state and what it does in the kernel. Runs no code in the target and does
/// not pause it, so it works when exec/debug cannot (main thread blocked in C).
/// </summary>
public static class StacksCommand
{
    public static Command Create(IUserInterface ui)
    {
        var pid = new Option<int?>("--pid") { CustomParser = NumberOptions.Pid, Description = "PID of the Python process (see `wand ps`); inside the container with --container" };
        var container = ContainerOptions.Container();
        var runtime = ContainerOptions.Runtime();
        var route = ContainerOptions.Route();
        var output = new Option<string>("--output", "-o")
        {
            Description = "text (for people) or json (schema: docs/stacks-json.md)",
            DefaultValueFactory = _ => "text",
        };
        output.AcceptOnlyFromAmong("text", "json");
        var consistent = new Option<bool>("--consistent") { Description = "stop every thread of the process while its stacks are read (a few milliseconds, said in the output), so no frame changes under the read" };
        var locals = new Option<bool>("--locals") { Description = "also show each frame's locals as safe summaries (type, short value, length; no repr runs)" };
        var allPods = new Option<bool>("--all-pods") { Description = "with -s/-l: read every Ready pod, all at once, and print the stacks per pod" };
        var podTarget = new Argument<string?>("TARGET") { Description = "a Kubernetes pod: pod/NAME (or use -s SERVICE, -l SELECTOR)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("stacks", "Show every thread's Python stack, read from memory: works on stuck processes, runs no code in them") { pid, container, runtime, route, output, locals, consistent, allPods };
        command.Arguments.Add(podTarget);
        var kube = new KubeOptions();
        kube.AddTo(command);
        command.SetAction(async (ParseResult result, CancellationToken cancellationToken) =>
        {
            var withLocals = result.GetValue(locals);
            var json = result.GetValue(output) == "json";
            if (kube.Given(result, result.GetValue(podTarget)))
            {
                if (result.GetValue(consistent))
                    throw new WandException(ExitCodes.Usage, "--consistent stops the process with ptrace from this machine, which a pod's exec cannot do", "leave out --consistent");
                if (result.GetValue(allPods)) return await InAllPodsAsync(ui, kube, result, result.GetValue(podTarget), withLocals, json, cancellationToken);
                var exec = await kube.ResolveAsync(ui, result, await kube.PodsAsync(result, result.GetValue(podTarget), cancellationToken), yes: true, cancellationToken);
                var (_, processes) = await kube.Containers(result, ui).ProcessesAsync(exec.Pod, exec.Container, cancellationToken); // as seen when the container was chosen
                var chosen = result.GetValue(pid) is { } p ? PodProcessChoice.ByPid(processes, p, exec) : Prompts.Take(ui, ReadableProcesses.Among(processes, exec.Description), true);
                await WriteAsync(ui, json, StackCapture.CaptureThroughExec(exec, chosen.Pid, withLocals), cancellationToken);
                return ExitCodes.Ok;
            }
            var stacks = result.GetValue(container) is { } name
                ? await InContainerAsync(ui, name, result.GetValue(runtime), result.GetValue(route)!, result.GetValue(pid), withLocals, result.GetValue(consistent), cancellationToken)
                : StackCapture.Capture(result.GetValue(pid) ?? throw new WandException(ExitCodes.Usage, "give --pid PID (or --container NAME)", "run `wand ps` to find the PID"),
                    withLocals, consistent: result.GetValue(consistent));
            await WriteAsync(ui, json, stacks, cancellationToken);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task WriteAsync(IUserInterface ui, bool json, ProcessStacks stacks, CancellationToken cancellationToken)
    {
        await ui.Out.WriteAsync(json ? StacksJson.Write(stacks) + "\n" : StacksText.Write(stacks));
        await ui.Out.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// <c>--all-pods</c>: every Ready pod read at once, the output grouped by pod (a header line per
    /// pod in text; one JSON document with a "pods" array). Exit 0 only when every pod was read.
    /// </summary>
    private static async Task<int> InAllPodsAsync(IUserInterface ui, KubeOptions kube, ParseResult result, string? target, bool withLocals, bool json, CancellationToken cancellationToken)
    {
        var (pods, what) = await kube.PodsAsync(result, target, cancellationToken);
        var ready = pods.Where(p => p.Ready).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        if (ready.Count == 0) Transport.Kubernetes.PodFinder.ChooseNewestReady(pods, what); // throws the "no Ready pod" error
        ui.Info($"reading the stacks of {ready.Count} Ready pod(s) behind {what}");
        var outcomes = await AllPodsStacks.ReadAsync(ready, kube.Containers(result, ui), result.GetValue(kube.PodContainer), withLocals, cancellationToken);
        if (json)
        {
            await ui.Out.WriteAsync(StacksJson.WritePods(outcomes.Select(o => (o.Pod, o.Stacks, o.Error)).ToList()) + "\n");
        }
        else
        {
            foreach (var (pod, stacks, error) in outcomes)
            {
                await ui.Out.WriteAsync($"==> pod {pod} <==\n{(stacks is null ? $"(not read: {error})\n" : StacksText.Write(stacks))}\n");
                if (error is not null) ui.Warn($"pod {pod}: {error}");
            }
        }
        await ui.Out.FlushAsync(cancellationToken);
        return outcomes.All(o => o.Stacks is not null) ? ExitCodes.Ok : ExitCodes.StacksUnreadable;
    }

    /// <summary>
    /// The stacks of a container's Python process (given by its PID inside, or chosen). The host route
    /// reads /proc/PID/mem from this machine; the exec route has the container's own interpreter read
    /// it and hand the bytes over (stacks_agent.py), so this reader decodes them all the same.
    /// </summary>
    private static async Task<ProcessStacks> InContainerAsync(IUserInterface ui, string name, string? runtime, string route, int? pidInside,
        bool withLocals, bool consistent, CancellationToken cancellationToken)
    {
        var (found, containerRoute) = await ContainerOptions.ResolveAsync(ui, name, runtime, route, cancellationToken);
        var processes = await containerRoute.ScanAsync(cancellationToken);
        var target = pidInside is { } inside
            ? ContainerOptions.ByPidInside(containerRoute, processes, inside, found)
            : Prompts.Take(ui, ReadableProcesses.Among(processes, $"container {found.Name}"), true);
        if (containerRoute.Runner is not ExecPayloadRunner exec) return StackCapture.Capture(target.Pid, withLocals, consistent: consistent);
        if (consistent)
            throw new WandException(ExitCodes.Usage, "--consistent stops the process with ptrace from this machine, which the exec route cannot do",
                "leave out --consistent, or use --route host on the Linux host that runs the container");
        return StackCapture.CaptureThroughExec(exec.Target, target.Pid, withLocals);
    }
}
