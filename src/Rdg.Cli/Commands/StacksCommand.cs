using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Wand.Cli;
using Wand.Errors;
using Wand.Hpc;
using Wand.Transport.Local;

namespace Rdg.Cli.Commands;

/// <summary>
/// <c>rdg stacks [JOB_ID]</c>: every rank's Python stacks, read from memory on every node of a
/// running job (through <c>srun --jobid=J --overlap -w NODE rdg node stacks</c>), nodes read at once,
/// printed by rank: "which rank hangs?". Nothing runs in the ranks and nothing pauses them. Without
/// Slurm, the user's Python processes on this machine. <c>-o json</c>: one document grouped by rank and node
/// (docs/stacks-json.md); <c>--locals</c>: each frame's locals as safe summaries.
/// </summary>
public static class StacksCommand
{
    public static Command Create(IUserInterface ui)
    {
        var jobArg = new Argument<string?>("JOB_ID") { Description = "the Slurm job (omit to choose among your running jobs)", Arity = ArgumentArity.ZeroOrOne };
        var output = new Option<string>("--output", "-o")
        {
            Description = "text (for people) or json (one document by rank and node; schema: docs/stacks-json.md)",
            DefaultValueFactory = _ => "text",
        };
        output.AcceptOnlyFromAmong("text", "json");
        var locals = new Option<bool>("--locals") { Description = "also show each frame's locals as safe summaries (type, short value, length; no repr runs)" };
        var command = new Command("stacks", "Show every rank's Python stacks in a running job, read from memory (which rank hangs?)") { jobArg, output, locals };
        command.SetAction(async (result, ct) =>
        {
            var slurm = SlurmClient.Default;
            var jobId = result.GetValue(jobArg);
            var json = result.GetValue(output) == "json";
            var withLocals = result.GetValue(locals);
            List<(string Node, NodeStacks Stacks)> all;
            string? readJob = null; // null: this machine's processes, without Slurm
            if (!slurm.Available)
            {
                if (jobId is not null) throw new WandException(ExitCodes.SlurmFailed, $"Slurm's squeue was not found on PATH, so job {jobId} cannot be looked up", "run rdg stacks on the cluster's login node (or load Slurm's module)");
                var processes = await new NodeAgent(ProcFs.Default, ui).ListAsync(null, ct);
                all = [.. NodeStacks.Read(processes, ProcFs.Default, withLocals, json).Select(s => (NodeAddress.ThisNode(), s))];
            }
            else
            {
                var job = await AttachCommand.ChooseJobAsync(ui, slurm, await slurm.RunningJobsAsync(ct), jobId, "stacks", "debuggable on any Python", ct);
                readJob = job.Id;
                var nodes = await slurm.ExpandNodesAsync(job.NodeList, ct);
                ui.Step($"reading the stacks of job {job.Id} on {string.Join(", ", nodes)}");
                var self = SelfCommand.Argv();
                var steps = await Task.WhenAll(nodes.Select(async node => (Node: node, Step: await slurm.StepAsync(job.Id, node, [.. self, "node", "stacks", "--job", job.Id, .. withLocals ? ["--locals"] : Array.Empty<string>(), .. json ? ["--json"] : Array.Empty<string>()], ct))));
                all = [];
                foreach (var (node, step) in steps)
                {
                    if (step.ExitCode != 0) throw new WandException(ExitCodes.SlurmFailed, $"srun on {node} failed: {step.Stderr.Trim()}", "check that the job is still running (squeue --me)");
                    all.AddRange((JsonSerializer.Deserialize(step.Stdout, HpcJson.Default.IReadOnlyListNodeStacks) ?? []).Select(s => (node, s)));
                }
            }
            if (all.Count == 0) throw new WandException(ExitCodes.ProcessNotFound, "no Python processes found", "is the job's Python still running? (squeue --me)");
            if (json)
            {
                await ui.Out.WriteAsync(JobStacksJson.Write(readJob, all) + "\n");
            }
            else
            {
                foreach (var (node, s) in JobStacksJson.InOrder(all))
                {
                    var rank = s.Rank is { } r ? $"rank {r.ToString(CultureInfo.InvariantCulture)}, " : "";
                    await ui.Out.WriteAsync($"==> {rank}node {node}, PID {s.Pid} <==\n{s.Stacks ?? $"(not read: {s.Error})\n"}\n");
                }
            }
            await ui.Out.FlushAsync(ct);
            return all.All(a => a.Stacks.Stacks is not null) ? ExitCodes.Ok : ExitCodes.StacksUnreadable;
        });
        return command;
    }
}
