using System.Diagnostics;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>
/// A real Python process started inside the testbed rootfs with chroot (so every attach crosses a
/// root boundary, as into a container). Killed, with its children, on dispose.
/// </summary>
public sealed class TargetProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly OutputLines _output;

    private TargetProcess(Process process)
    {
        _process = process;
        _output = new OutputLines(process);
    }

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Stdout => _output.Stdout;
    public string Stderr => _output.Stderr;

    /// <summary>
    /// Starts <c>chroot ROOTFS [--userspec=USER] /usr/bin/pythonVERSION args...</c> (the rootfs of
    /// that version: <see cref="Testbed.RootFor"/>). chroot execs the
    /// interpreter, so <see cref="Pid"/> is the Python process itself.
    /// </summary>
    public static TargetProcess StartPython(string version, IEnumerable<string> args, IDictionary<string, string>? env = null, string? user = null) =>
        StartProgram(version, $"/usr/bin/{Testbed.PythonName(version)}", args, env, user);

    /// <summary>Starts <paramref name="program"/> (a path in the rootfs of python<paramref name="version"/>, e.g. uWSGI) the same way.</summary>
    public static TargetProcess StartProgram(string version, string program, IEnumerable<string> args, IDictionary<string, string>? env = null, string? user = null)
    {
        Testbed.EnsureReady();
        var psi = new ProcessStartInfo("chroot") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (user is not null) psi.ArgumentList.Add($"--userspec={user}");
        psi.ArgumentList.Add(Testbed.RootFor(version));
        psi.ArgumentList.Add(program);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PYTHONUNBUFFERED"] = "1";
        psi.Environment.Remove("PYTHONDONTWRITEBYTECODE");
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return new TargetProcess(Process.Start(psi)!);
    }

    /// <summary>Runs a script given as text with <c>-c</c>.</summary>
    public static TargetProcess StartScript(string code, string version = "3.14", IDictionary<string, string>? env = null, string? user = null, IEnumerable<string>? interpreterOptions = null) =>
        StartPython(version, [.. interpreterOptions ?? [], "-c", code], env, user);

    /// <summary>Waits until a line of stdout contains <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            if (_output.StdoutLines.Any(l => l.Contains(text, StringComparison.Ordinal))) return;
            if (_process.HasExited)
                throw new InvalidOperationException($"target exited ({_process.ExitCode}) before printing '{text}'. stdout:\n{Stdout}\nstderr:\n{Stderr}");
            await Task.Delay(20);
        }
        throw new TimeoutException($"target did not print '{text}'. stdout:\n{Stdout}\nstderr:\n{Stderr}");
    }

    /// <summary>Sends a line to the target's stdin.</summary>
    public async Task SendLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        {
            // best effort: the process may already be gone
        }
        _process.Dispose();
    }
}
