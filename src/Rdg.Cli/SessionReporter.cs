using Wand.Cli;
using Wand.Hpc;

namespace Rdg.Cli;

/// <summary>
/// Turns the launcher's events into what the job's log shows (plain lines, no escape codes: Slurm
/// output files are not terminals) and into the session record that attach/tunnel/init read.
/// </summary>
public sealed class SessionReporter(IUserInterface ui, SessionStore store, LoginTarget login, int localPort, string mode, bool postMortem)
{
    private SessionRecord? _record;
    private string _cwd = Environment.CurrentDirectory;
    private string? _python;

    public int Pid { get; private set; }

    public bool DebugpyMissing { get; private set; }

    private static string? JobId => Environment.GetEnvironmentVariable("SLURM_JOB_ID") is { Length: > 0 } j ? j : null;

    public void OnEvent(LauncherEvent e)
    {
        switch (e.Name)
        {
            case "started":
                Pid = e.Int("pid") ?? 0;
                _cwd = e.String("cwd") ?? _cwd;
                _python = e.String("python");
                break;
            case "listening" when e.String("reason") != "crash":
                Record(mode, "listening", e.String("host"), e.Int("port"), null);
                PrintConnection(e.String("host")!, e.Int("port")!.Value, e.String("reason") == "activate" ? "the debugger was activated" : null);
                break;
            case "waiting":
                Err("Program is paused, waiting for the debugger to attach...");
                break;
            case "attached":
                Err("Debugger attached: the program starts.");
                break;
            case "armed":
                Record("lite", "armed", null, null, e.String("fifo"));
                Err("[Lite Debugger] Armed: the program runs at full speed, nothing is loaded.");
                Err($"  Job ID:  {JobId ?? "(none: not a Slurm job)"}");
                Err($"  PID:     {Pid}");
                Err($"  Node:    {NodeAddress.ThisNode()}");
                Err($"To activate the debugger, run on the login node: rdg attach {(JobId is null ? "" : JobId + " ")}{Pid}");
                break;
            case "crashed":
                Record("post-mortem", "listening", e.String("host"), e.Int("port"), _record?.Control);
                Err($"[Post-mortem] the program raised {e.String("exception")}; the debugger opens in the frame that raised.");
                Err($"  Without a debugger attached for {TimeSpan.FromSeconds(e.Body.GetProperty("timeout").GetDouble())}, the job ends.");
                PrintConnection(e.String("host")!, e.Int("port")!.Value, null);
                break;
            case "post-mortem-timeout":
                Err("[Post-mortem] no debugger attached in time: ending with the program's failure status.");
                break;
            case "error":
                if (e.String("error") == "debugpy-missing") DebugpyMissing = true;
                else ui.Error($"the debugger could not start: {e.String("detail")}", "choose another --port or --listen-host");
                break;
        }
    }

    public void Finish()
    {
        if (_record is not null) store.Remove(_record);
    }

    private void Record(string recordMode, string state, string? host, int? port, string? control)
    {
        _record = new SessionRecord(JobId, Pid, recordMode, state, NodeAddress.ThisNode(), host, port, localPort, _cwd, _python,
            control ?? _record?.Control, login.Known ? login.SshDestination : null,
            RankInfo.Detect(Environment.GetEnvironmentVariable)?.Rank, _record?.StartedAt ?? DateTimeOffset.UtcNow);
        try
        {
            store.Write(_record);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ui.Warn($"could not write the session record in {store.Folder}: {ex.Message} (rdg attach/tunnel will need the job id)");
        }
    }

    private void PrintConnection(string host, int port, string? headline)
    {
        if (headline is not null) Err($"[rdg] {headline}.");
        var shownMode = $"{(_record?.Mode ?? mode)}{(postMortem && _record?.Mode != "post-mortem" ? " + post-mortem" : "")}";
        ConnectionBlock.Print(Console.Error, NodeAddress.ThisNode(), host, port, _cwd, JobId, Pid, shownMode, login, localPort);
    }

    private static void Err(string line)
    {
        Console.Error.WriteLine(line);
        Console.Error.Flush();
    }
}
