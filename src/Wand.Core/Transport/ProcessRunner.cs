using System.ComponentModel;
using System.Diagnostics;

namespace Wand.Transport;

/// <summary>
/// The one place wand starts other programs (podman, docker, kubectl, ssh, the user's Python), with argv
/// arrays only: names of containers, pods and paths come from users and clusters and never pass through a
/// shell. <see cref="RunAsync"/> runs one to its end within a time limit; <see cref="Start"/> starts a
/// long-lived one. Neither a timeout nor a cancel leaves a child (or its children) running.
/// </summary>
public static class ProcessRunner
{
    /// <summary>Thrown when the program is not installed (not on PATH).</summary>
    public sealed class NotInstalledException(string program) : Exception($"{program} is not installed or not on PATH")
    {
        public string Program { get; } = program;
    }

    /// <summary>Runs <paramref name="program"/> to its end with <paramref name="stdin"/> (null: wand's own) and collects its output; past <paramref name="timeout"/> it is killed and <see cref="TimeoutException"/> thrown.</summary>
    public static async Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, string? stdin, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var argv = args.ToList();
        using var process = Start(program, argv, new ChildProcessOptions { RedirectInput = stdin is not null });
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            if (stdin is not null)
            {
                try
                {
                    await process.StandardInput.WriteAsync(stdin.AsMemory(), timer.Token);
                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // It ended without reading its input (kubectl refused by the API server: the pod or its
                    // container is gone): its exit code and stderr say why, as for any other failure.
                }
            }
            await process.WaitForExitAsync(timer.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            if (cancellationToken.IsCancellationRequested) throw;
            throw new TimeoutException($"{program} {string.Join(' ', argv)} did not finish within {timeout.TotalSeconds:0} s");
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a long-lived <paramref name="program"/>; the caller disposes the result, which kills it if it still runs.</summary>
    public static ChildProcess Start(string program, IEnumerable<string> args, ChildProcessOptions? options = null)
    {
        options ??= new ChildProcessOptions();
        var psi = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = !options.InheritStdio && options.RedirectInput,
            RedirectStandardOutput = !options.InheritStdio,
            RedirectStandardError = !options.InheritStdio,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (name, value) in options.Environment ?? new Dictionary<string, string?>())
        {
            if (value is null) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        }
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new NotInstalledException(program);
        }
        catch (Win32Exception)
        {
            throw new NotInstalledException(program);
        }
        return new ChildProcess(process, options);
    }
}
