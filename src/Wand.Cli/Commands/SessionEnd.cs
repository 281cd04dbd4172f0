using Wand.Errors;

namespace Wand.Cli.Commands;

/// <summary>A debug session runs until Ctrl+C, the only way it ends; then the user is told what stays behind.</summary>
internal static class SessionEnd
{
    /// <summary>Runs <paramref name="session"/> until Ctrl+C and says whether debugpy keeps running in <paramref name="where"/>.</summary>
    public static async Task<int> AfterCtrlCAsync(IUserInterface ui, Func<CancellationToken, Task> session, bool keep, string where, CancellationToken cancellationToken)
    {
        try
        {
            await session(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            ui.Info($"session ended; debugpy {(keep ? "keeps running" : "was stopped")} in {where}");
        }
        return ExitCodes.Cancelled;
    }
}
