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
    public Task WaitForOutputAsync(string text, TimeSpan? timeout = null) =>
        Eventually.TrueAsync(
            () =>
            {
                if (_output.StdoutLines.Any(l => l.Contains(text, StringComparison.Ordinal))) return true;
                if (_process.HasExited)
                    throw new InvalidOperationException($"target exited ({_process.ExitCode}) before printing '{text}'. stdout:\n{Stdout}\nstderr:\n{Stderr}");
                return false;
            },
            timeout ?? TimeSpan.FromSeconds(30),
            $"the target to print '{text}'",
            () => $"stdout:\n{Stdout}\nstderr:\n{Stderr}");

    /// <summary>
    /// Waits until the interpreter runs the script: the process is the Python binary (chroot has
    /// exec'd it) and its main thread sleeps (kernel state S, e.g. loop.py's <c>time.sleep</c>).
    /// Interpreter start-up never sleeps (it reads the stdlib from the page cache), so a sleeping
    /// main thread means the main module is past its imports and in its own code.
    /// </summary>
    public Task WaitUntilRunningAsync(TimeSpan? timeout = null) =>
        Eventually.TrueAsync(
            () =>
            {
                if (_process.HasExited)
                    throw new InvalidOperationException($"target exited ({_process.ExitCode}) before it ran. stdout:\n{Stdout}\nstderr:\n{Stderr}");
                return IsPythonSleeping(Pid);
            },
            timeout ?? TimeSpan.FromSeconds(30),
            $"PID {Pid} to run its script (the python binary, its main thread sleeping)",
            () => $"stdout:\n{Stdout}\nstderr:\n{Stderr}");

    /// <summary>Whether <paramref name="pid"/> is a Python binary whose main thread sleeps (see <see cref="WaitUntilRunningAsync"/>).</summary>
    public static bool IsPythonSleeping(int pid)
    {
        try
        {
            if (!Path.GetFileName(File.ResolveLinkTarget($"/proc/{pid}/exe", returnFinalTarget: false)?.FullName ?? "").StartsWith("python", StringComparison.Ordinal))
                return false;
            // /proc/PID/stat: "pid (comm) state ..."; comm may hold spaces or parentheses, so split after the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('S');
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Waits for a new line of stdout from now on: the target runs on (loop.py prints "ticks N" every
    /// 100 ticks, about every 5 s) after whatever the test just did.
    /// </summary>
    public Task RunsOnAsync(string after, TimeSpan? timeout = null)
    {
        var lines = _output.StdoutLines.Count();
        return Eventually.TrueAsync(
            () =>
            {
                if (_process.HasExited)
                    throw new InvalidOperationException($"target exited ({_process.ExitCode}) after {after}. stdout:\n{Stdout}\nstderr:\n{Stderr}");
                return _output.StdoutLines.Count() > lines;
            },
            timeout ?? TimeSpan.FromSeconds(30),
            $"PID {Pid} to print a new line after {after}",
            () => $"stdout:\n{Stdout}\nstderr:\n{Stderr}");
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
