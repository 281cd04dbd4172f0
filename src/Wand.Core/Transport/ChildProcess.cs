using System.Diagnostics;

namespace Wand.Transport;

/// <summary>
/// A long-lived child started by <see cref="ProcessRunner.Start"/> (a port-forward, an <c>exec -i</c> relay or
/// watcher, an ssh tunnel, the user's program). Disposing kills it with its whole tree, so no path out of
/// the code that owns it (an exception, a cancel) leaves it running.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;

    internal ChildProcess(Process process, ChildProcessOptions options)
    {
        _process = process;
        if (options.OnOutputLine is { } onOutput)
        {
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is { } line) onOutput(line);
            };
            process.BeginOutputReadLine();
        }
        if (options.OnErrorLine is { } onError)
        {
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { } line) onError(line);
            };
            process.BeginErrorReadLine();
        }
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit status; 128 + N when signal N ended it.</summary>
    public int ExitCode => _process.ExitCode;

    public StreamWriter StandardInput => _process.StandardInput;

    public StreamReader StandardOutput => _process.StandardOutput;

    public StreamReader StandardError => _process.StandardError;

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>Kills the child and its whole tree (a wrapper such as sh, srun or kubectl must not leave its children running); nothing when it has ended.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    /// <summary>Asks the child to end (SIGTERM, which a Python program turns into its own clean exit), kills its tree after <paramref name="grace"/>, and waits until it has ended.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        var exited = _process.WaitForExitAsync(CancellationToken.None);
        if (!_process.HasExited) Signals.Send(_process.Id, Signals.SIGTERM);
        if (await Task.WhenAny(exited, Task.Delay(grace, CancellationToken.None)) != exited) Kill();
        await exited;
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
