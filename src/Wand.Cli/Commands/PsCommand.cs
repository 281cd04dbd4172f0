using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Wand.Discovery;
using Wand.Errors;

namespace Wand.Cli.Commands;

/// <summary>
/// <c>wand ps [--pid PID] [--output table|json]</c>: the Python processes of this machine (chroots and
/// containers included), their roles, resource use and whether wand can attach to them.
/// </summary>
public static class PsCommand
{
    /// <summary>Width of COMMAND when stdout is not a terminal (piped output has no width to fit).</summary>
    private const int PipedCommandWidth = 120;
    private const int MinCommandWidth = 24;

    public static Command Create(IUserInterface ui)
    {
        var pid = new Option<int?>("--pid") { CustomParser = NumberOptions.Pid, Description = "Show only this process (its role is still worked out from its parent and children)" };
        var container = ContainerOptions.Container();
        var runtime = ContainerOptions.Runtime();
        var route = ContainerOptions.Route();
        var output = new Option<string>("--output", "-o")
        {
            Description = "table (for people) or json (the full data, and nothing else on stdout)",
            DefaultValueFactory = _ => "table",
        };
        output.AcceptOnlyFromAmong("table", "json");
        var command = new Command("ps", "List the Python processes on this machine (including chroots and containers) and whether wand can attach to them")
        {
            pid, output, container, runtime, route,
        };
        command.SetAction(async (ParseResult result, CancellationToken cancellationToken) =>
        {
            var scanner = new PythonProcessScanner(progress: ui);
            IReadOnlyList<PythonProcess> processes;
            if (result.GetValue(container) is { } name)
            {
                var (_, containerRoute) = await ContainerOptions.ResolveAsync(ui, name, result.GetValue(runtime), result.GetValue(route)!, cancellationToken, sampleCpu: true);
                processes = await containerRoute.ScanAsync(cancellationToken);
            }
            else
            {
                processes = result.GetValue(pid) is { } one
                    ? [await scanner.GetAsync(one, cancellationToken)]
                    : await scanner.ScanAsync(null, cancellationToken);
            }

            if (result.GetValue(output) == "json")
            {
                await ui.Out.WriteLineAsync(JsonSerializer.Serialize(processes.Select(ToJson).ToList(), CliJson.Default.ListPsJson));
            }
            else
            {
                if (processes.Count == 0) ui.Step("no Python processes found");
                var width = CommandWidth(ui, processes);
                ui.Table(Headers, processes.Select(p => Row(p, width)).ToList());
            }
            await ui.Out.FlushAsync(cancellationToken);
            WarnAboutPermissions(ui, processes);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static readonly string[] Headers = ["PID", "PPID", "USER", "PYTHON", "ROLE", "CPU%", "RSS", "UPTIME", "ATTACH", "COMMAND"];

    private static string[] Row(PythonProcess p, int commandWidth) =>
    [
        p.Pid.ToString(CultureInfo.InvariantCulture),
        p.ParentPid.ToString(CultureInfo.InvariantCulture),
        p.User,
        p.Version ?? "?",
        RoleText(p),
        p.CpuPercent.ToString("0.0", CultureInfo.InvariantCulture),
        FormatBytes(p.RssBytes),
        FormatUptime(p.Uptime),
        AttachText(p),
        Truncate(CommandText(p.CommandLine), commandWidth),
    ];

    private static string RoleText(PythonProcess p) => p.RoleDetail ?? p.Role switch
    {
        ProcessRole.ReloaderParent => "reloader",
        var r => r.ToString().ToLowerInvariant(),
    };

    /// <summary>"yes", or "no: " and the reason in a few words (the JSON output has the full sentence).</summary>
    private static string AttachText(PythonProcess p) => p.Attach.State switch
    {
        AttachState.Attachable => "yes",
        AttachState.UnsupportedVersion => $"no: Python {p.Version ?? "?"} unsupported",
        AttachState.RemoteDebugDisabled => "no: remote debug disabled",
        AttachState.PermissionDenied => "no: permission denied",
        AttachState.AlreadyTraced => "no: already traced",
        _ => "no: " + Truncate(p.Attach.Reason, 40),
    };

    private static void WarnAboutPermissions(IUserInterface ui, IReadOnlyList<PythonProcess> processes)
    {
        var denied = processes.Count(p => p.Attach.State == AttachState.PermissionDenied);
        if (denied > 0)
            ui.Warn($"{denied} process{(denied == 1 ? "" : "es")} could not be inspected (permission denied): run wand as their user or with sudo");
    }

    /// <summary>Fit COMMAND into what the terminal has left after the other columns.</summary>
    private static int CommandWidth(IUserInterface ui, IReadOnlyList<PythonProcess> processes)
    {
        if (!ReferenceEquals(ui.Out, Console.Out) || Console.IsOutputRedirected) return PipedCommandWidth;
        int terminal;
        try
        {
            terminal = Console.WindowWidth;
        }
        catch (IOException)
        {
            return PipedCommandWidth;
        }
        if (terminal <= 0) return PipedCommandWidth;
        var rows = processes.Select(p => Row(p, int.MaxValue)).Prepend(Headers).ToList();
        var others = Enumerable.Range(0, Headers.Length - 1).Sum(i => rows.Max(r => r[i].Length) + 2);
        return Math.Max(MinCommandWidth, terminal - others - 1);
    }

    /// <summary>The argv joined with spaces, arguments with spaces quoted, newlines of <c>-c</c> code folded.</summary>
    private static string CommandText(IReadOnlyList<string> argv)
    {
        var text = new StringBuilder();
        foreach (var arg in argv)
        {
            if (text.Length > 0) text.Append(' ');
            var folded = string.Join(' ', arg.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(s => s.Trim()).Where(s => s.Length > 0));
            text.Append(folded.Length == 0 || folded.Contains(' ') ? $"'{folded}'" : folded);
        }
        return text.ToString();
    }

    private static string Truncate(string text, int width) =>
        text.Length <= width ? text : width <= 1 ? text[..width] : text[..(width - 1)] + "…";

    private static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0}G",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0}M",
        >= 1L << 10 => $"{bytes / 1024}K",
        _ => $"{bytes}B",
    };

    private static string FormatUptime(TimeSpan t) => t switch
    {
        { TotalDays: >= 1 } => $"{(int)t.TotalDays}d{t.Hours:00}h",
        { TotalHours: >= 1 } => $"{(int)t.TotalHours}h{t.Minutes:00}m",
        { TotalMinutes: >= 1 } => $"{(int)t.TotalMinutes}m{t.Seconds:00}s",
        _ => $"{(int)t.TotalSeconds}s",
    };

    private static PsJson ToJson(PythonProcess p) => new(p.Pid, p.ParentPid, p.Uid, p.User, p.Version, p.Role, p.RoleDetail,
        Math.Round(p.CpuPercent, 1), p.RssBytes, Math.Round(p.Uptime.TotalSeconds, 1), p.CommandLine, p.Root, p.Cwd,
        new AttachJson(p.Attach.State, p.Attach.Reason));

    /// <summary>The JSON shape of one process: stable names, uptime in seconds.</summary>
    internal sealed record PsJson(int Pid, int ParentPid, int Uid, string User, string? Version, ProcessRole Role, string? RoleDetail,
        double CpuPercent, long RssBytes, double UptimeSeconds, IReadOnlyList<string> CommandLine, string? Root, string? Cwd, AttachJson Attach);

    internal sealed record AttachJson(AttachState State, string Reason);
}
