using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Wand.Injection.Payloads;

namespace Wand.Hpc;

/// <summary>
/// Runs the user's program under rdg_launcher.py with the interpreter the user named: the launcher
/// and its config go into a private folder (0700, removed afterwards), the program inherits rdg's
/// stdin/stdout/stderr (its output goes to the job's log unchanged), and the launcher's events
/// arrive on a Unix socket in that folder. Returns the program's exit status.
/// </summary>
public static class DebugLauncher
{
    public const string LauncherFile = "rdg_launcher.py";
    public const string ApiFile = "remote_debug.py";

    /// <summary>Writes the remote_debug module into <paramref name="folder"/> (for PYTHONPATH) and returns the folder.</summary>
    public static string WriteApi(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, ApiFile), Payload.Read(ApiFile));
        return folder;
    }

    public static async Task<int> RunAsync(ProgramCommand program, LaunchOptions options, Action<LauncherEvent> onEvent, CancellationToken cancellationToken)
    {
        var dir = Directory.CreateTempSubdirectory("rdg-"); // 0700
        try
        {
            var launcher = Path.Combine(dir.FullName, LauncherFile);
            await File.WriteAllTextAsync(launcher, Payload.Read(LauncherFile), cancellationToken);
            var api = WriteApi(Path.Combine(dir.FullName, "api"));
            var socketPath = Path.Combine(dir.FullName, "events.sock");
            var config = Path.Combine(dir.FullName, "config.json");
            await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["target"] = new Dictionary<string, object?> { ["kind"] = program.Kind, ["value"] = program.Value, ["args"] = program.Arguments },
                ["mode"] = options.Mode,
                ["post_mortem"] = options.PostMortem,
                ["wait"] = options.Wait,
                ["stop_on_entry"] = options.StopOnEntry,
                ["host"] = options.Host,
                ["port"] = options.Port ?? 0,
                ["preferred_port"] = RdgDefaults.Port,
                ["post_mortem_timeout"] = options.PostMortemTimeout.TotalSeconds,
                ["debugpy_path"] = options.DebugpyPath,
                ["control"] = socketPath,
                ["fifo_dir"] = dir.FullName,
                ["safe_path"] = program.SafePath,
            }), cancellationToken);

            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.Listen(1);

            var psi = new ProcessStartInfo(program.Interpreter) { UseShellExecute = false };
            foreach (var o in program.InterpreterOptions) psi.ArgumentList.Add(o);
            psi.ArgumentList.Add(launcher);
            psi.ArgumentList.Add(config);
            var pythonPath = Environment.GetEnvironmentVariable("PYTHONPATH");
            psi.Environment["PYTHONPATH"] = string.IsNullOrEmpty(pythonPath) ? api : $"{api}:{pythonPath}";
            psi.Environment["RDG_LISTEN_HOST"] = options.Host;
            using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program.Interpreter}");
            var exited = process.WaitForExitAsync(CancellationToken.None);
            var events = ReadEventsAsync(listener, exited, onEvent);
            try
            {
                await exited.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // The job is being cancelled (scancel, Ctrl-C): pass it on and give the program a moment to end.
                if (!process.HasExited) Signals.Send(process.Id, Signals.SIGTERM);
                if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(1.5), CancellationToken.None)) != exited) process.Kill(entireProcessTree: true);
                await exited;
            }
            // Children forked by the program (without exec) may hold the socket open: do not wait for them.
            await Task.WhenAny(events, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None));
            return process.ExitCode;
        }
        finally
        {
            try
            {
                dir.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Runs the program exactly as its command line says, without the launcher (a rank that does not listen).</summary>
    public static async Task<int> RunPlainAsync(ProgramCommand program, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(program.Interpreter) { UseShellExecute = false };
        foreach (var o in program.InterpreterOptions) psi.ArgumentList.Add(o);
        if (program.Kind == ProgramCommand.Module) psi.ArgumentList.Add("-m");
        else if (program.Kind == ProgramCommand.Code) psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(program.Value);
        foreach (var a in program.Arguments) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program.Interpreter}");
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            if (!process.HasExited) Signals.Send(process.Id, Signals.SIGTERM);
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(1.5), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        await process.WaitForExitAsync(CancellationToken.None);
        return process.ExitCode;
    }

    private static async Task ReadEventsAsync(Socket listener, Task exited, Action<LauncherEvent> onEvent)
    {
        var accept = listener.AcceptAsync();
        if (await Task.WhenAny(accept, exited) != accept)
        {
            listener.Close(); // the interpreter ended before the launcher said anything
            try
            {
                await accept;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
            return;
        }
        using var connection = await accept;
        using var stream = new NetworkStream(connection, ownsSocket: false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (await reader.ReadLineAsync() is { } line)
        {
            JsonElement body;
            try
            {
                using var doc = JsonDocument.Parse(line);
                body = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                continue;
            }
            if (body.TryGetProperty("event", out var name) && name.GetString() is { } n) onEvent(new LauncherEvent(n, body));
        }
    }
}
