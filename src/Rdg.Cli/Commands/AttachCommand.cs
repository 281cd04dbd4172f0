using System.CommandLine;
using System.Text.Json;
using Wand.Cli;
using Wand.Errors;
using Wand.Hpc;
using Wand.Transport.Local;

namespace Rdg.Cli.Commands;

/// <summary>
/// <c>rdg attach [JOB_ID] [PID]</c>: on a login node, picks one of the user's RUNNING jobs, lists its
/// Python processes on every node of the job (through <c>srun --jobid=J --overlap -w NODE rdg node list</c>),
/// and starts the debugger in the chosen one (a lite-armed launcher, or an unprepared Python 3.9+
/// process with zero preparation). Without Slurm, the same on this machine's processes.
/// Non-interactive when both arguments are given.
/// </summary>
public static class AttachCommand
{
    public static Command Create(IUserInterface ui)
    {
        var jobArg = new Argument<string?>("JOB_ID") { Description = "the Slurm job (omit to choose among your running jobs; a PID here without Slurm)", Arity = ArgumentArity.ZeroOrOne };
        var pidArg = new Argument<int?>("PID") { Description = "the Python process (omit to choose; not needed when the job has one)", Arity = ArgumentArity.ZeroOrOne };
        var port = new Option<int?>("--port") { CustomParser = NumberOptions.Port, Description = "port for a zero-prep attach (default 5679 when free)" };
        var host = new Option<string?>("--listen-host") { Description = "address to bind on the node (default: its address towards the login node)" };
        var login = new Option<string?>("--login") { Description = "user@login-host for the printed ssh command" };
        var localPort = new Option<int>("--local-port") { CustomParser = NumberOptions.PortWithDefault, DefaultValueFactory = _ => RdgDefaults.LocalPort, Description = "the laptop side of the tunnel" };
        var command = new Command("attach", "Start the debugger in a running job's Python process (lite-armed, or any Python 3.9+) and print how to connect")
        {
            jobArg, pidArg, port, host, login, localPort,
        };
        command.SetAction(async (result, ct) =>
        {
            var slurm = SlurmClient.Default;
            string? jobId = result.GetValue(jobArg);
            var pid = result.GetValue(pidArg);
            Func<string, string?> env = Environment.GetEnvironmentVariable;
            var loginTarget = LoginTarget.Resolve(result.GetValue(login) ?? env("RDG_LOGIN_HOST"), env, NodeAddress.Fqdn);

            IReadOnlyList<SlurmJob>? jobs = null;
            if (slurm.Available)
            {
                try
                {
                    jobs = await slurm.RunningJobsAsync(ct);
                }
                catch (WandException e) when (jobId is null || pid is null)
                {
                    ui.Warn($"{e.Message}: looking at this machine's processes instead");
                }
            }
            if (jobs is null)
            {
                // A workstation or an SSH host: the processes of this machine; a single number is a PID.
                if (jobId is not null && pid is null && int.TryParse(jobId, out var local)) (jobId, pid) = (null, local);
                else if (jobId is not null) throw new WandException(ExitCodes.SlurmFailed, $"Slurm's squeue was not found on PATH, so job {jobId} cannot be looked up", "run rdg attach on the cluster's login node (or load Slurm's module)");
                var agent = new NodeAgent(ProcFs.Default, ui);
                var processes = await agent.ListAsync(null, ct);
                var chosen = ChooseProcess(ui, processes, pid, null);
                var listenHost = result.GetValue(host) ?? (loginTarget.Known ? NodeAddress.Choose(loginTarget.Host) : "127.0.0.1");
                var endpoint = await agent.ActivateAsync(chosen, listenHost, result.GetValue(port), null, ct);
                Report(ui, endpoint, NodeAddress.ThisNode(), null, loginTarget, result.GetValue(localPort));
                return ExitCodes.Ok;
            }

            var job = await ChooseJobAsync(ui, slurm, jobs, jobId, "attach", "attachable on any Python", ct);

            var self = SelfCommand.Argv();
            var nodes = await slurm.ExpandNodesAsync(job.NodeList, ct);
            List<string> Activate(int target)
            {
                List<string> argv = [.. self, "node", "activate", "--job", job.Id, "--pid", target.ToString(System.Globalization.CultureInfo.InvariantCulture)];
                if (result.GetValue(port) is { } p2) argv.AddRange(["--port", p2.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                if (result.GetValue(host) is { } h) argv.AddRange(["--listen-host", h]);
                if (loginTarget.Known) argv.AddRange(["--login", loginTarget.SshDestination]);
                return argv;
            }

            Wand.Transport.ProcessResult? run = null;
            string? chosenNode = null;
            int chosenPid = 0;
            if (pid is { } given && nodes.Count == 1)
            {
                // JOB and PID on a one-node job: straight to the node (one srun step, not two); the node
                // checks that the PID is a Python process of the job. Only when it is not, the job's
                // processes are listed, for the error's hint.
                ui.Step($"starting the debugger in PID {given} on {nodes[0]}");
                run = await slurm.StepAsync(job.Id, nodes[0], Activate(given), ct);
                (chosenNode, chosenPid) = (nodes[0], given);
                if (run.ExitCode == ExitCodes.ProcessNotFound && run.Stderr.Contains(NodeCommand.NotInJob, StringComparison.Ordinal)) run = null;
            }
            if (run is null)
            {
                var candidates = new List<(string Node, NodeProcess Process)>();
                foreach (var node in nodes)
                {
                    ui.Step($"looking for Python processes of job {job.Id} on {node}");
                    var step = await slurm.StepAsync(job.Id, node, [.. self, "node", "list", "--job", job.Id], ct);
                    if (step.ExitCode != 0) throw new WandException(ExitCodes.SlurmFailed, $"srun on {node} failed: {step.Stderr.Trim()}", "check that the job is still running (squeue --me)");
                    foreach (var p in JsonSerializer.Deserialize(step.Stdout, HpcJson.Default.IReadOnlyListNodeProcess) ?? []) candidates.Add((node, p));
                }
                var chosenProcess = ChooseProcess(ui, [.. candidates.Select(c => c.Process)], pid, job.Id);
                (chosenNode, chosenPid) = (candidates.First(c => c.Process == chosenProcess).Node, chosenProcess.Pid);
                ui.Step($"starting the debugger in PID {chosenPid} on {chosenNode}");
                run = await slurm.StepAsync(job.Id, chosenNode, Activate(chosenPid), ct);
            }
            if (run.ExitCode != 0)
            {
                var message = run.Stderr.Split('\n').FirstOrDefault(l => l.StartsWith("error:", StringComparison.Ordinal))?["error:".Length..].Trim() ?? run.Stderr.Trim();
                var hint = run.Stderr.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith("hint:", StringComparison.Ordinal))?.Trim()["hint:".Length..].Trim();
                throw new WandException(run.ExitCode, $"on {chosenNode}: {message}", hint);
            }
            var ep = JsonSerializer.Deserialize(run.Stdout, HpcJson.Default.NodeEndpoint)!;
            Report(ui, ep, chosenNode!, job.Id, loginTarget, result.GetValue(localPort));
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The running job meant: the given one, the only one, or the user's choice on a terminal.</summary>
    /// <param name="verb">attach or stacks, for the messages.</param>
    public static async Task<SlurmJob> ChooseJobAsync(IUserInterface ui, SlurmClient slurm, IReadOnlyList<SlurmJob> jobs, string? jobId, string verb, string liteMakes, CancellationToken ct)
    {
        if (jobId is null)
        {
            if (jobs.Count == 0) throw new WandException(ExitCodes.ProcessNotFound, "you have no running jobs", $"start one with sbatch; `rdg debug --lite python ...` in its script makes it {liteMakes}");
            return jobs.Count == 1 || !ui.CanPrompt ? jobs.Count == 1 ? jobs[0]
                    : throw new WandException(ExitCodes.Usage, $"you have {jobs.Count} running jobs: {string.Join(", ", jobs.Select(j => $"{j.Id} ({j.Name})"))}", $"pass the job id: rdg {verb} JOB_ID")
                : ui.Choose("Which job?", jobs, j => $"{j.Id}  {j.Name}  running {j.Time}  on {j.NodeList}");
        }
        return jobs.FirstOrDefault(j => j.Id == jobId)
            ?? throw new WandException(ExitCodes.ProcessNotFound, await slurm.ExplainNotRunningAsync(jobId, ct) + $"; only your RUNNING jobs can be {(verb == "attach" ? "attached" : "read")}",
                jobs.Count == 0 ? "you have no running jobs" : $"your running jobs: {string.Join(", ", jobs.Select(j => $"{j.Id} ({j.Name})"))}");
    }

    private static NodeProcess ChooseProcess(IUserInterface ui, IReadOnlyList<NodeProcess> processes, int? pid, string? jobId)
    {
        var where = jobId is null ? "on this machine" : $"in job {jobId}";
        if (pid is { } wanted)
            return processes.FirstOrDefault(p => p.Pid == wanted)
                ?? throw new WandException(ExitCodes.ProcessNotFound, $"PID {wanted} is not one of your Python processes {where}",
                    processes.Count == 0 ? $"there are none {where}" : $"{where}: {string.Join("; ", processes.Select(p => p.Describe()))}");
        var attachable = processes.Where(p => p.CanAttach).ToList();
        if (attachable.Count == 0)
            throw new WandException(ExitCodes.ProcessNotFound,
                processes.Count == 0 ? $"no Python processes of yours {where}" : $"none of your Python processes {where} can be attached: {string.Join("; ", processes.Select(p => p.Describe()))}",
                "start the program with `rdg debug --lite python ...` (any Python 3.8+), or use Python 3.9+");
        if (attachable.Count == 1) return attachable[0];
        var armed = attachable.Where(p => p.Armed).ToList();
        if (armed.Count == 1 && !ui.CanPrompt) return armed[0];
        if (!ui.CanPrompt)
            throw new WandException(ExitCodes.Usage, $"several Python processes {where}: {string.Join("; ", attachable.Select(p => p.Describe()))}", "pass the PID too: rdg attach JOB_ID PID");
        return ui.Choose("Which process?", [.. armed, .. attachable.Except(armed)], p => p.Describe());
    }

    private static void Report(IUserInterface ui, NodeEndpoint ep, string node, string? jobId, LoginTarget login, int localPort)
    {
        ui.Info(ep.How == "lite" ? $"the lite debugger of PID {ep.Pid} is listening on {ep.Host}:{ep.Port}" : $"debugpy started in PID {ep.Pid} with zero preparation, listening on {ep.Host}:{ep.Port}");
        var store = SessionStore.Default;
        var previous = store.List().FirstOrDefault(r => r.Pid == ep.Pid && (r.JobId == jobId || jobId is null));
        var record = new SessionRecord(jobId, ep.Pid, ep.How == "lite" ? "lite" : "attached", "listening", node, ep.Host, ep.Port, localPort,
            ep.Cwd ?? previous?.RemotePath ?? "", ep.Python, previous?.Control, login.Known ? login.SshDestination : null, previous?.Rank, previous?.StartedAt ?? DateTimeOffset.UtcNow);
        if (previous is not null && previous.FileName != record.FileName) store.Remove(previous);
        store.Write(record);
        ConnectionBlock.Print(ui.Out, node, ep.Host, ep.Port, record.RemotePath, jobId, ep.Pid, record.Mode, login, localPort);
    }
}
