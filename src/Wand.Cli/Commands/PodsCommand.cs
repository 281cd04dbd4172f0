using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Discovery;
using Wand.Errors;
using Wand.Transport.Kubernetes;

namespace Wand.Cli.Commands;

/// <summary>
/// <c>wand pods -n NS (-s SVC | -l SELECTOR | --pod NAME) [--with-pids] [-o json]</c>: the pods behind a
/// service with phase, readiness, restarts, age, node and Knative revision; with <c>--with-pids</c> the
/// Python processes of each pod (gathered from all pods in parallel through <c>kubectl exec</c>).
/// </summary>
public static class PodsCommand
{
    public static Command Create(IUserInterface ui)
    {
        var kube = new KubeOptions();
        var withPids = new Option<bool>("--with-pids") { Description = "also list each pod's Python processes (role, version, memory, attachability)" };
        var output = new Option<string>("--output", "-o") { Description = "table or json", DefaultValueFactory = _ => "table" };
        output.AcceptOnlyFromAmong("table", "json");
        var command = new Command("pods", "List the pods behind a Kubernetes service (or selector) and, with --with-pids, their Python processes") { withPids, output };
        kube.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var (pods, what) = await kube.PodsAsync(result, null, cancellationToken);
            var ordered = pods.OrderByDescending(p => p.Created).ToList();
            var processes = result.GetValue(withPids)
                ? await Task.WhenAll(ordered.Select(p => ProcessesAsync(kube, result, p, cancellationToken)))
                : null;
            var now = DateTimeOffset.UtcNow;
            if (result.GetValue(output) == "json")
            {
                var array = new JsonArray();
                for (var i = 0; i < ordered.Count; i++)
                {
                    var p = ordered[i];
                    var item = new JsonObject
                    {
                        ["name"] = p.Name,
                        ["namespace"] = p.Namespace,
                        ["phase"] = p.Phase,
                        ["status"] = p.Status.Length > 0 ? p.Status : p.Phase,
                        ["ready"] = p.Ready,
                        ["restarts"] = p.Restarts,
                        ["created"] = p.Created.ToString("O", CultureInfo.InvariantCulture),
                        ["ageSeconds"] = Math.Round((now - p.Created).TotalSeconds),
                        ["node"] = p.Node,
                        ["revision"] = p.Revision,
                        ["containers"] = new JsonArray(p.Containers.Select(c => (JsonNode?)c.Name).ToArray()),
                    };
                    if (processes is not null)
                    {
                        item["container"] = processes[i].Container;
                        item["processes"] = new JsonArray(processes[i].Processes.Select(ProcessJson).ToArray());
                        if (processes[i].Error is { } error) item["error"] = error;
                    }
                    array.Add((JsonNode)item);
                }
                await ui.Out.WriteLineAsync(array.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                if (ordered.Count == 0) ui.Step($"no pods behind {what}");
                ui.Table(["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE", "REVISION"],
                    ordered.Select(p => (IReadOnlyList<string>)[p.Name, p.Ready ? "yes" : "no", p.Status.Length > 0 ? p.Status : p.Phase, p.Restarts.ToString(CultureInfo.InvariantCulture), Age(now - p.Created), p.Node, p.Revision ?? "-"]));
                if (processes is not null)
                {
                    await ui.Out.WriteLineAsync();
                    ui.Table(["POD", "CONTAINER", "PID", "PPID", "PYTHON", "ROLE", "RSS", "ATTACH", "COMMAND"],
                        processes.SelectMany(x => x.Processes.Select(p => (IReadOnlyList<string>)[x.Pod, x.Container, p.Pid.ToString(CultureInfo.InvariantCulture),
                            p.ParentPid.ToString(CultureInfo.InvariantCulture), p.Version ?? "?", p.RoleDetail ?? p.Role.ToString().ToLowerInvariant(),
                            $"{p.RssBytes / (1024 * 1024)}M", p.Attach.CanAttach ? "yes" : "no: " + p.Attach.Reason, string.Join(' ', p.CommandLine)])));
                    foreach (var failed in processes.Where(x => x.Error is not null)) ui.Warn($"pod {failed.Pod}: {failed.Error}");
                }
            }
            await ui.Out.FlushAsync(cancellationToken);
            return ExitCodes.Ok;
        });
        return command;
    }

    private sealed record PodProcesses(string Pod, string Container, IReadOnlyList<PythonProcess> Processes, string? Error);

    /// <summary>One pod's Python processes; a pod that cannot be listed gives its error instead of failing the others.</summary>
    private static async Task<PodProcesses> ProcessesAsync(KubeOptions kube, ParseResult result, PodInfo pod, CancellationToken cancellationToken)
    {
        var container = "";
        try
        {
            var containers = kube.Containers(result, Wand.Progress.NullProgress.Instance);
            container = await containers.ChooseAsync(pod, result.GetValue(kube.PodContainer), cancellationToken);
            return new PodProcesses(pod.Name, container, (await containers.ProcessesAsync(pod, container, cancellationToken)).Processes, null);
        }
        catch (WandException e)
        {
            return new PodProcesses(pod.Name, container, [], e.Message);
        }
    }

    private static JsonNode ProcessJson(PythonProcess p) => new JsonObject
    {
        ["pid"] = p.Pid,
        ["ppid"] = p.ParentPid,
        ["uid"] = p.Uid,
        ["version"] = p.Version,
        ["role"] = JsonNamingPolicy.CamelCase.ConvertName(p.Role.ToString()),
        ["roleDetail"] = p.RoleDetail,
        ["cpuPercent"] = Math.Round(p.CpuPercent, 1),
        ["rssBytes"] = p.RssBytes,
        ["uptimeSeconds"] = Math.Round(p.Uptime.TotalSeconds, 1),
        ["commandLine"] = new JsonArray(p.CommandLine.Select(a => (JsonNode?)a).ToArray()),
        ["attach"] = new JsonObject { ["state"] = JsonNamingPolicy.CamelCase.ConvertName(p.Attach.State.ToString()), ["canAttach"] = p.Attach.CanAttach, ["reason"] = p.Attach.Reason },
    };

    /// <summary>kubectl's AGE column: 45s, 12m, 5h, 3d.</summary>
    private static string Age(TimeSpan t) => t.TotalSeconds < 0 ? "0s"
        : t.TotalMinutes < 2 ? $"{(int)t.TotalSeconds}s"
        : t.TotalHours < 2 ? $"{(int)t.TotalMinutes}m"
        : t.TotalDays < 2 ? $"{(int)t.TotalHours}h"
        : $"{(int)t.TotalDays}d";
}
