using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Injection.Payloads;
using Wand.Transport;

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

    /// <summary>The hand-over of a rank an agent spawns to the launcher (loaded by <see cref="RankHook"/>).</summary>
    public const string RankFile = "rdg_rank.py";

    /// <summary>How long a cancelled program has between SIGTERM and being killed.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// Put first on the agent's PYTHONPATH (see rdg_rank.py, <c>child_hook</c>): in the Python
    /// whose RANK is the chosen one, hands over to the launcher; in every Python, then runs the
    /// sitecustomize it hides (a distribution's or a venv's), if any. Pure Python 3.8+.
    /// </summary>
    public const string RankHook = """
        # rdg: the ranks an agent (torchrun) starts; see rdg_rank.py, child_hook.
        def _rdg_rank_hook():
            import os

            rank = os.environ.get("RANK")
            if rank is None or rank != os.environ.get("RDG_CHILD_RANK"):
                return
            try:
                import importlib.util

                spec = importlib.util.spec_from_file_location("_rdg_rank", os.environ["RDG_CHILD_HOOK"])
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                module.child_hook()
            except Exception as e:
                import sys

                sys.stderr.write("rdg: rank %s runs without the debugger: %s: %s\n" % (rank, type(e).__name__, e))


        def _rdg_next_sitecustomize():
            import os
            import sys

            here = os.path.dirname(os.path.abspath(__file__))
            sys.modules.pop("sitecustomize", None)
            saved = sys.path[:]
            sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
            try:
                import sitecustomize  # noqa: F401
            except ImportError as e:
                if getattr(e, "name", None) != "sitecustomize":
                    raise
            finally:
                sys.path[:] = saved


        _rdg_rank_hook()
        _rdg_next_sitecustomize()
        """;

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
            await File.WriteAllTextAsync(config, new JsonObject
            {
                ["target"] = new JsonObject { ["kind"] = program.Kind, ["value"] = program.Value, ["args"] = new JsonArray([.. program.Arguments.Select(a => JsonValue.Create(a))]) },
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
            }.ToJsonString(), cancellationToken);

            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.Listen(1);

            List<string> argv = [.. program.InterpreterOptions];
            var pythonPath = Environment.GetEnvironmentVariable("PYTHONPATH");
            pythonPath = string.IsNullOrEmpty(pythonPath) ? api : $"{api}:{pythonPath}";
            var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
            if (program.SpawnsRanks)
            {
                // The agent runs as it is; the chosen rank's child hands over to the launcher (RankHook).
                var hook = Directory.CreateDirectory(Path.Combine(dir.FullName, "hook")).FullName;
                await File.WriteAllTextAsync(Path.Combine(hook, "sitecustomize.py"), RankHook, cancellationToken);
                var rank = Path.Combine(dir.FullName, RankFile);
                await File.WriteAllTextAsync(rank, Payload.Read(RankFile), cancellationToken);
                pythonPath = $"{hook}:{pythonPath}";
                if (program.Kind == ProgramCommand.Module) argv.Add("-m");
                argv.Add(program.Value);
                argv.AddRange(program.Arguments);
                environment["RDG_CHILD_CONFIG"] = config;
                environment["RDG_CHILD_LAUNCHER"] = launcher;
                environment["RDG_CHILD_HOOK"] = rank;
                environment["RDG_CHILD_RANK"] = options.ChildRank.ToString(System.Globalization.CultureInfo.InvariantCulture);
                environment["RANK"] = null; // the agent is no rank; it sets RANK for each child
            }
            else
            {
                argv.Add(launcher);
                argv.Add(config);
            }
            environment["PYTHONPATH"] = pythonPath;
            environment["RDG_LISTEN_HOST"] = options.Host;
            using var process = ProcessRunner.Start(program.Interpreter, argv, new ChildProcessOptions { InheritStdio = true, Environment = environment });
            var exited = process.WaitForExitAsync(CancellationToken.None);
            var events = ReadEventsAsync(listener, exited, onEvent);
            try
            {
                await exited.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // The job is being cancelled (scancel, Ctrl-C): pass it on and give the program a moment to end.
                await process.StopAsync(StopGrace);
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
        List<string> argv = [.. program.InterpreterOptions];
        if (program.Kind == ProgramCommand.Module) argv.Add("-m");
        else if (program.Kind == ProgramCommand.Code) argv.Add("-c");
        argv.Add(program.Value);
        argv.AddRange(program.Arguments);
        using var process = ProcessRunner.Start(program.Interpreter, argv, new ChildProcessOptions { InheritStdio = true });
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await process.StopAsync(StopGrace);
        }
        return process.ExitCode;
    }

    private static async Task ReadEventsAsync(Socket listener, Task exited, Action<LauncherEvent> onEvent)
    {
        var accept = listener.AcceptAsync();
        // A launcher that connected, reported (debugpy missing) and ended at once may be seen to exit before
        // its connection is accepted: it waits in the backlog, so a short grace takes it.
        if (await Task.WhenAny(accept, exited) != accept && await Task.WhenAny(accept, Task.Delay(TimeSpan.FromMilliseconds(500), CancellationToken.None)) != accept)
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
