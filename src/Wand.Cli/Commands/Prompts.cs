using Wand.Discovery;
using Wand.Errors;
using Wand.Session;
using Wand.Transport.Local;

namespace Wand.Cli.Commands;

/// <summary>What the debug and exec commands ask the user when the library's rule leaves a choice: which process, which local port.</summary>
internal static class Prompts
{
    /// <summary>
    /// The process to debug among <paramref name="all"/>: the recommended one (a reload worker over its
    /// parent) without a prompt when --yes or no terminal, else the user's choice with it preselected.
    /// </summary>
    public static PythonProcess Choose(IUserInterface ui, IReadOnlyList<PythonProcess> all, bool yes, string where) => Take(ui, ProcessChoice.Among(all, where), yes);

    /// <summary>The process <paramref name="choice"/> names (said), or, when a terminal can be asked and not --yes, the user's pick.</summary>
    public static PythonProcess Take(IUserInterface ui, ProcessChoice choice, bool yes)
    {
        if (yes || !ui.CanPrompt)
        {
            var chosen = choice.WithoutAsking();
            ui.Info($"chose PID {chosen.Pid} ({ProcessChoice.Summary(chosen)})");
            return chosen;
        }
        return ui.Choose("Which process should wand debug?", choice.Candidates,
            p => $"{p.Pid,7}  {ProcessChoice.Summary(p)}{(p == choice.Recommended ? "  (recommended)" : "")}");
    }

    /// <summary>
    /// For --detach, a busy port is fine when debugpy's own adapter or the target itself holds it (the target may already be listening
    /// there: the bootstrap then reuses it). Anything else is never killed: offer the next free port.
    /// </summary>
    /// <param name="forProxy">wand's own proxy will listen there: any owner makes it busy.</param>
    public static int ChooseLocalPort(IUserInterface ui, ProcFs procfs, int port, bool yes, bool forProxy = false, int? target = null)
    {
        // debugpy already listening for the target (its adapter, or the target itself with pydevd's in-process
        // listener): the bootstrap reuses it, or says who else started it.
        if (PortOwner.Find(port, procfs) is not { } owner || (!forProxy && (owner.IsDebugpyAdapter || (target is not null && owner.Pid == target)))) return port;
        var next = PortOwner.NextFree(port + 1, procfs);
        var message = $"port {port} is in use by {owner.Describe()}";
        if (yes)
        {
            ui.Warn($"{message}; using {next} instead");
            return next;
        }
        if (ui.CanPrompt && ui.Confirm($"{message}. Use port {next} instead?", true)) return next;
        throw new WandException(ExitCodes.PortInUse, message, $"pass --port {next} (free), or stop that process");
    }
}
