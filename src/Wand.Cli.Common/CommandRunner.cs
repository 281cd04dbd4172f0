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
            NumberOptions.ExplainParseErrors(root);
            var parsed = root.Parse(args.Length == 0 ? ["--help"] : args);
            if (parsed.Errors.Count > 0)
            {
                var help = parsed.CommandResult.Command == root ? $"{root.Name} --help" : $"{root.Name} {parsed.CommandResult.Command.Name} --help";
                for (var i = 0; i < parsed.Errors.Count; i++)
                    ui.Error(parsed.Errors[i].Message, i == parsed.Errors.Count - 1 ? $"see `{help}`" : null);
                return ExitCodes.Usage;
            }
            return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
        }
        catch (KubectlFailedException e) when (e.ClusterUnreachable)
        {
            ui.Error(e.Message, "kubectl reached no cluster: choose one with --context NAME (`kubectl config get-contexts` lists them) or --kubeconfig FILE, or set KUBECONFIG");
            return e.ExitCode;
        }
        catch (WandException e)
        {
            var (message, hint) = ErrorWording.Of(e);
            ui.Error(message, hint);
            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            ui.Error("cancelled", null);
            return ExitCodes.Cancelled;
        }
        catch (Exception e)
        {
            ui.Error($"internal error: {e.GetType().Name}: {e.Message}", "this is a bug in wand; please report it with this output:\n" + e);
            return ExitCodes.InternalError;
        }
    }
}
