using System.CommandLine;
using System.Text.Json;
using Wand.Cli;
using Wand.Errors;
using Wand.Hpc;
using Wand.Transport.Local;

namespace Rdg.Cli.Commands;

/// <summary>
/// <c>rdg node list|activate</c> (hidden): the part of <c>rdg attach</c> that runs on the compute node,
/// inside the job (srun --overlap). Answers in JSON on stdout; failures as usual (one line, exit code).
/// </summary>
public static class NodeCommand
{
    /// <summary>The words of activate's refusal when the PID is no Python process of the job (rdg attach then lists the job's processes).</summary>
    public const string NotInJob = "is not a Python process of job";

    public static Command Create(IUserInterface ui)
    {
        var job = new Option<string?>("--job") { Description = "only processes of this Slurm job" };
        var list = new Command("list", "the user's Python processes (of the job) as JSON") { job };
        list.SetAction(async (result, ct) =>
        {
            var processes = await new NodeAgent(ProcFs.Default, ui).ListAsync(result.GetValue(job), ct);
            await ui.Out.WriteLineAsync(JsonSerializer.Serialize(processes, HpcJson.Default.IReadOnlyListNodeProcess));
            return ExitCodes.Ok;
        });

        var pid = new Option<int>("--pid") { Required = true, CustomParser = NumberOptions.RequiredPid };
        var port = new Option<int?>("--port") { CustomParser = NumberOptions.Port };
        var host = new Option<string?>("--listen-host");
        var login = new Option<string?>("--login");
        var activate = new Command("activate", "start the debugger in a process and print where it listens as JSON") { job, pid, port, host, login };
        activate.SetAction(async (result, ct) =>
        {
            var agent = new NodeAgent(ProcFs.Default, ui);
            var target = result.GetValue(pid);
            var process = await agent.GetAsync(target, result.GetValue(job), ct)
                ?? throw new WandException(ExitCodes.ProcessNotFound,
                    result.GetValue(job) is { } j ? $"PID {target} {NotInJob} {j} on {NodeAddress.ThisNode()}" : $"PID {target} is not one of your Python processes",
                    "run `rdg attach JOB` without a PID to see the job's Python processes");
            Func<string, string?> env = Environment.GetEnvironmentVariable;
            var loginTarget = LoginTarget.Resolve(result.GetValue(login) ?? env("RDG_LOGIN_HOST"), env, NodeAddress.Fqdn);
            var listenHost = result.GetValue(host)
                ?? (loginTarget.Known || env("SLURM_JOB_ID") is { Length: > 0 } ? NodeAddress.Choose(loginTarget.Host) : "127.0.0.1");
            var endpoint = await agent.ActivateAsync(process, listenHost, result.GetValue(port), null, ct);
            await ui.Out.WriteLineAsync(JsonSerializer.Serialize(endpoint, HpcJson.Default.NodeEndpoint));
            return ExitCodes.Ok;
        });
        var locals = new Option<bool>("--locals") { Description = "each frame's locals too" };
        var asJson = new Option<bool>("--json") { Description = "each process's stacks as the JSON document of wand stacks -o json, not text" };
        var stacks = new Command("stacks", "the stacks of the job's Python processes, read from memory, as JSON") { job, locals, asJson };
        stacks.SetAction(async (result, ct) =>
        {
            var processes = await new NodeAgent(ProcFs.Default, ui).ListAsync(result.GetValue(job), ct);
            var read = NodeStacks.Read(processes, ProcFs.Default, result.GetValue(locals), result.GetValue(asJson));
            await ui.Out.WriteLineAsync(JsonSerializer.Serialize(read, HpcJson.Default.IReadOnlyListNodeStacks));
            return ExitCodes.Ok;
        });
        return new Command("node", "(internal) the node side of rdg attach and rdg stacks") { Hidden = true, Subcommands = { list, activate, stacks } };
    }
}
