using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Wand.Cli;
using Wand.Errors;
using Wand.Hpc;
using Wand.Injection.Debugpy;

namespace Rdg.Cli.Commands;

/// <summary>
/// <c>rdg debug [-l] [-p] COMMAND...</c>: runs a Python program under the debugger (normal), armed for
/// later (lite) and/or with post-mortem on a crash; prints how to connect and records the session.
/// </summary>
public static class DebugCommand
{
    public static Command Create(IUserInterface ui)
    {
        var lite = new Option<bool>("--lite", "-l") { Description = "run at full speed with nothing loaded; `rdg attach` starts the debugger later" };
        var postMortem = new Option<bool>("--post-mortem", "-p") { Description = "on an uncaught exception, open the debugger in the frame that raised" };
        var port = new Option<int?>("--port") { CustomParser = NumberOptions.Port, Description = $"port debugpy listens on (default {RdgDefaults.Port} when free, else a free one)" };
        var host = new Option<string?>("--listen-host") { Description = "address to bind (default: this node's address towards the login node; never 0.0.0.0 unless given)" };
        var wait = new Option<bool>("--wait") { Description = "wait for the editor before the program starts (default)", DefaultValueFactory = _ => true };
        var noWait = new Option<bool>("--no-wait") { Description = "start the program at once; the editor can attach any time" };
        var noStop = new Option<bool>("--no-stop-on-entry") { Description = "once the editor is attached, run to its breakpoints instead of stopping at the program's first line" };
        var rank = new Option<int>("--rank") { Description = "in multi-rank jobs, the rank that listens (others run normally); rank from RANK, SLURM_PROCID, OMPI_COMM_WORLD_RANK, PMI_RANK", DefaultValueFactory = _ => 0 };
        var timeout = new Option<string>("--post-mortem-timeout") { Description = "after a crash, end the job when no editor is attached for this long (e.g. 1800, 90s, 30m, 2h)", DefaultValueFactory = _ => "30m" };
        var login = new Option<string?>("--login") { Description = "user@login-host for the printed ssh command (default: RDG_LOGIN_HOST, SSH_CONNECTION, SLURM_SUBMIT_HOST)" };
        var debugpy = new Option<string?>("--debugpy") { Description = "a debugpy package folder to lend when the job's Python has none" };
        var localPort = new Option<int>("--local-port") { CustomParser = NumberOptions.PortWithDefault, Description = "the laptop side of the tunnel in the printed command", DefaultValueFactory = _ => RdgDefaults.LocalPort };
        var command = new Argument<string[]>("COMMAND") { Description = "python SCRIPT ARGS... | python -m MODULE ARGS... | python -c CODE ARGS...", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("debug", "Run a Python program under the debugger (or armed with --lite, or --post-mortem) and print how to connect")
        {
            lite, postMortem, port, host, wait, noWait, noStop, rank, timeout, login, debugpy, localPort, command,
        };
        cmd.SetAction(async (result, cancellationToken) =>
        {
            var program = ProgramCommand.Parse(result.GetValue(command) ?? [],
                name => ProgramCommand.Which(name, Environment.GetEnvironmentVariable("PATH")), ReadHead);
            if (program.Kind == ProgramCommand.Script && !File.Exists(program.Value) && !Directory.Exists(program.Value))
                throw new WandException(ExitCodes.Usage, $"the script {program.Value} does not exist (in {Environment.CurrentDirectory})", "check the path, or run rdg from the folder the script is relative to");
            var postMortemTimeout = ParseDuration(result.GetValue(timeout)!);
            if (result.GetValue(port) is { } p && (p < 1 || p > 65535))
                throw new WandException(ExitCodes.Usage, $"--port {p} is not a TCP port", "pass a number from 1 to 65535");

            Func<string, string?> env = Environment.GetEnvironmentVariable;
            if (program.SpawnsRanks)
                ui.Step($"{Path.GetFileName(program.Value)} starts the ranks: rank {result.GetValue(rank)} (RANK) gets the debugger, the others run normally");
            else if (RankInfo.Detect(env) is { } r && r.Rank != result.GetValue(rank))
            {
                // Only the chosen rank listens: this one runs exactly as it would without rdg.
                ui.Step($"rank {r.Rank} ({r.Variable}) runs without the debugger (rank {result.GetValue(rank)} listens)");
                return await DebugLauncher.RunPlainAsync(program, cancellationToken);
            }

            var loginTarget = LoginTarget.Resolve(result.GetValue(login) ?? env("RDG_LOGIN_HOST"), env, NodeAddress.Fqdn);
            // No login node and no job (a workstation): loopback, as wand does.
            var listenHost = result.GetValue(host)
                ?? (loginTarget.Known || env("SLURM_JOB_ID") is { Length: > 0 } ? NodeAddress.Choose(loginTarget.Host) : "127.0.0.1");
            if (result.GetValue(port) is { } explicitPort && PortInUse(listenHost, explicitPort))
                throw new WandException(ExitCodes.PortInUse, $"port {explicitPort} is already in use on {listenHost}", $"omit --port (rdg then takes {RdgDefaults.Port} or a free port) or choose another");

            // -p alone runs the program with nothing loaded until it crashes; -l -p arms and also catches a crash.
            var mode = result.GetValue(lite) ? "lite" : result.GetValue(postMortem) ? "post-mortem" : "debug";
            var options = new LaunchOptions(mode, result.GetValue(postMortem), result.GetValue(wait) && !result.GetValue(noWait), !result.GetValue(noStop),
                listenHost, result.GetValue(port), postMortemTimeout, DebugpyLocator.Default.Find(result.GetValue(debugpy)), result.GetValue(rank));
            var reporter = new SessionReporter(ui, SessionStore.Default, loginTarget, result.GetValue(localPort), mode, result.GetValue(postMortem));
            var status = await DebugLauncher.RunAsync(program, options, reporter.OnEvent, cancellationToken);
            reporter.Finish();
            if (reporter.DebugpyMissing)
                throw new DebugpyMissingException(reporter.Pid, DebugpyLocator.Default.SearchPatterns(result.GetValue(debugpy)));
            return status;
        });
        return cmd;
    }

    private static string? ReadHead(string path)
    {
        try
        {
            using var f = File.OpenRead(path);
            var buffer = new byte[256];
            var n = f.Read(buffer);
            return System.Text.Encoding.UTF8.GetString(buffer, 0, n);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Seconds, or a number with s, m or h.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        var t = text.Trim();
        var unit = t.Length > 0 && char.IsLetter(t[^1]) ? char.ToLowerInvariant(t[^1]) : 's';
        var number = char.IsLetter(t.Length > 0 ? t[^1] : '0') ? t[..^1] : t;
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value <= 0 || unit is not ('s' or 'm' or 'h'))
            throw new WandException(ExitCodes.Usage, $"--post-mortem-timeout {text} is not a duration", "pass seconds (1800) or a number with s, m or h (30m)");
        return unit switch { 'h' => TimeSpan.FromHours(value), 'm' => TimeSpan.FromMinutes(value), _ => TimeSpan.FromSeconds(value) };
    }

    private static bool PortInUse(string host, int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Parse(host), port);
            l.Start();
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (FormatException)
        {
            return false; // a host name: debugpy will say it if the port is taken
        }
    }
}
