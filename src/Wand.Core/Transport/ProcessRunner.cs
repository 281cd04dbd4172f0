using System.ComponentModel;
using System.Diagnostics;

namespace Wand.Transport;

/// <summary>The result of a finished child process.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public bool Ok => ExitCode == 0;
}

/// <summary>
/// Runs other programs (podman, docker, kubectl) with argv arrays only: names of containers, pods
/// and paths come from users and clusters and never pass through a shell.
/// </summary>
public static class ProcessRunner
{
    /// <summary>Thrown when the program is not installed (not on PATH).</summary>
    public sealed class NotInstalledException(string program) : Exception($"{program} is not installed or not on PATH")
    {
        public string Program { get; } = program;
    }

    public static async Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, string? stdin, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new NotInstalledException(program);
        }
        catch (Win32Exception)
        {
            throw new NotInstalledException(program);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timer.CancelAfter(timeout);
            try
            {
                if (stdin is not null)
                {
                    await process.StandardInput.WriteAsync(stdin.AsMemory(), timer.Token);
                    process.StandardInput.Close();
                }
                await process.WaitForExitAsync(timer.Token);
            }
            catch (OperationCanceledException)
            {
                // The whole tree: a wrapper (sh, srun, kubectl plugins) must not leave its children running.
                process.Kill(entireProcessTree: true);
                if (cancellationToken.IsCancellationRequested) throw;
                throw new TimeoutException($"{program} {string.Join(' ', psi.ArgumentList)} did not finish within {timeout.TotalSeconds:0} s");
            }
            return new ProcessResult(process.ExitCode, await stdout, await stderr);
        }
    }
}
