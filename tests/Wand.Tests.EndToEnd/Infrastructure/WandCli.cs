using System.Diagnostics;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>The result of one run of the real wand executable.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs <c>wand</c> (<see cref="TestedTool.Wand"/>) as a separate process, as a user would; <c>user</c> is a numeric uid (its gid is taken to be the same).</summary>
public static class WandCli
{
    public static async Task<CliResult> RunAsync(IEnumerable<string> args, string? user = null, string? stdin = null, TimeSpan? timeout = null, IDictionary<string, string>? env = null, TestedTool? tool = null)
    {
        var argv = (tool ?? TestedTool.Wand).With(args);
        var psi = new ProcessStartInfo(user is null ? argv[0] : "setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        if (user is not null)
        {
            // Drop to another user for permission tests: setpriv keeps argv intact (no shell).
            foreach (var a in new[] { $"--reuid={user}", $"--regid={user}", "--clear-groups", "--", argv[0] }) psi.ArgumentList.Add(a);
            psi.Environment["DOTNET_CLI_HOME"] = "/tmp";
            psi.Environment["HOME"] = "/tmp";
        }
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment["DEBUGWAND_SIMPLE_UI"] = "1";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;

        using var process = Process.Start(psi)!;
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        var stderrTask = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"wand {string.Join(' ', args)} did not finish. stderr so far:\n{await stderrTask}");
        }
        return new CliResult(process.ExitCode, await stdoutTask, await stderrTask);
    }
}
