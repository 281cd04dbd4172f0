using System.CommandLine;
using Wand.Errors;

namespace Wand.Cli;

/// <summary>
/// Runs a parsed command line and turns failures into one line on stderr and a named exit code:
/// <see cref="WandException"/> prints its message and hint, never a stack trace.
/// </summary>
public static class CommandRunner
{
    public static async Task<int> InvokeAsync(RootCommand root, string[] args, IUserInterface ui)
    {
        try
        {
            var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
            return await root.Parse(args).InvokeAsync(config);
        }
        catch (WandException e)
        {
            ui.Error(e.Message, e.Hint);
            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            ui.Error("cancelled", null);
            return ExitCodes.Cancelled;
        }
    }
}
