using System.CommandLine;
using System.Text;
using Wand.Errors;
using Wand.Stacks;

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
        var command = new Command("stacks", "Show every thread's Python stack, read from memory: works on stuck processes, runs no code in them") { pid, container, runtime, route, output, locals, consistent };
        command.SetAction(async (ParseResult result, CancellationToken cancellationToken) =>
        {
            var target = result.GetValue(container) is { } name
                ? await ContainerPidAsync(ui, name, result.GetValue(runtime), result.GetValue(route)!, result.GetValue(pid), cancellationToken)
                : result.GetValue(pid) ?? throw new WandException(ExitCodes.Usage, "give --pid PID (or --container NAME)", "run `wand ps` to find the PID");
            var stacks = StackCapture.Capture(target, result.GetValue(locals), consistent: result.GetValue(consistent));
            await ui.Out.WriteAsync(result.GetValue(output) == "json" ? StacksJson.Write(stacks) + "\n" : Text(stacks));
            await ui.Out.FlushAsync(cancellationToken);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// The host PID of the container's Python process (given by its PID inside, or chosen): the stacks
    /// are read from this machine through /proc/PID/mem, which needs the container's processes visible here.
    /// </summary>
    private static async Task<int> ContainerPidAsync(IUserInterface ui, string name, string? runtime, string route, int? pidInside, CancellationToken cancellationToken)
    {
        if (route == "exec")
            throw new WandException(ExitCodes.Usage, "`wand stacks --container` reads memory from this machine only for now (--route host)",
                "run wand on the Linux host that runs the container, with --route host or auto");
        var (found, containerRoute) = await ContainerOptions.ResolveAsync(ui, name, runtime, "host", cancellationToken);
        var processes = await containerRoute.ScanAsync(cancellationToken);
        return (pidInside is { } inside
            ? ContainerOptions.ByPidInside(containerRoute, processes, inside, found)
            : Prompts.Choose(ui, processes, true, $"container {found.Name}")).Pid;
    }

    /// <summary>The human form: one block per Python thread, frames innermost last, then the other OS threads in one line each.</summary>
    public static string Text(ProcessStacks stacks)
    {
        var b = new StringBuilder();
        b.Append($"PID {stacks.Pid}, Python {stacks.PythonVersion} (read from memory; frames innermost last)\n");
        if (stacks.StoppedFor is { } stopped)
            b.Append(System.Globalization.CultureInfo.InvariantCulture, $"Every thread was stopped for {stopped.TotalMilliseconds:0.0} ms while it was read (--consistent)\n");
        foreach (var t in stacks.Threads.Where(t => t.Python is not null))
        {
            var p = t.Python!;
            b.Append($"\nThread {t.Tid} {Name(t)}{(p.InterpreterId != 0 ? $" (interpreter {p.InterpreterId})" : "")}: ");
            b.Append(p.HoldsGil ? "holds the GIL" : "does not hold the GIL");
            b.Append($"; native: {t.Native}\n");
            if (p.Frames.Count == 0 && p.Problem is null) b.Append("    (no Python frames)\n");
            foreach (var f in p.Frames)
            {
                b.Append($"    {f.File}:{f.Line?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} {f.Function}\n");
                foreach (var l in f.Locals ?? [])
                    b.Append($"        {l.Name}: {l.Type}{(l.Value is null ? "" : $" = {l.Value}")}{(l.Length is { } n ? $" (len {n})" : "")}\n");
            }
            if (p.Problem is not null) b.Append($"    ({p.Problem})\n");
        }
        var others = stacks.Threads.Where(t => t.Python is null).ToList();
        if (others.Count > 0)
        {
            b.Append($"\n{others.Count} OS thread{(others.Count == 1 ? "" : "s")} without a Python thread state:\n");
            foreach (var t in others) b.Append($"    {t.Tid} {Name(t)}: {t.Native}\n");
        }
        return b.ToString();
    }

    private static string Name(ThreadStack t) => t.NameSource switch
    {
        ThreadNameSource.Thread => $"\"{t.Name}\"",
        ThreadNameSource.Process => $"\"{t.Name}\" (process name)",
        _ => "(gone)",
    };
}
