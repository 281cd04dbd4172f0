using System.Reflection;

namespace Wand.Injection.Payloads;

/// <summary>The Python files wand injects, embedded in the assembly (Injection/Payloads/*.py).</summary>
public static class Payload
{
    public const string Exec = "exec_capture.py";
    public const string Debugpy = "debugpy_bootstrap.py";

    /// <summary>Holds the children a worker-forking parent (a gunicorn master) forks until wand's attach ran in them.</summary>
    public const string ForkHold = "fork_hold.py";

    /// <summary>Makes a reloader's next worker start carry <see cref="SpawnHoldModule"/> (werkzeug: a new program per worker).</summary>
    public const string SpawnHold = "spawn_hold.py";

    /// <summary>Not a payload to run: the module lent to that worker, which site.py imports at its start.</summary>
    public const string SpawnHoldModule = "usercustomize.py";

    public static string Read(string fileName)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Wand.Payloads.{fileName}")
            ?? throw new InvalidOperationException($"payload {fileName} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// The script to inject: <c>_WAND_DIR = ...</c>, the prelude, then the payload. Injected scripts
    /// have no <c>__file__</c>, so the folder is baked in, hex-encoded so no path can break out of
    /// the literal.
    /// </summary>
    public static string Script(string fileName, string workDirInTarget) =>
        $"_WAND_DIR = bytes.fromhex(\"{Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(workDirInTarget))}\").decode()\n"
        + ScriptBody(fileName);

    /// <summary>The prelude and the payload, for a route that sets <c>_WAND_DIR</c> itself (agent.py).</summary>
    public static string ScriptBody(string fileName) =>
        string.Join("\n\n", (fileName == Debugpy ? new[] { "prelude.py", DebugpyStop, fileName } : ["prelude.py", fileName]).Select(Read));

    /// <summary>The bootstrap's --stop half: definitions only, sent before <see cref="Debugpy"/>, which calls and deletes them.</summary>
    public const string DebugpyStop = "debugpy_stop.py";

    public const string Agent = "agent.py";
    public const string Relay = "relay.py";

    /// <summary>agent.py's ptrace half for 3.9-3.13, sent with each inject request.</summary>
    public const string AgentPtrace = "agent_ptrace.py";

    /// <summary>
    /// The constant -c program that starts agent.py with the target's own interpreter: it reads
    /// {"agent": source, "request": {...}} from stdin, so nothing from users travels in argv. It reads
    /// one line, never up to stdin's end: an API server older than 1.30 (no v5.channel.k8s.io) cannot
    /// pass the end of kubectl's stdin on, and the watcher's later lines carry requests.
    /// </summary>
    public const string AgentBoot =
        "import sys,json;m=json.loads(sys.stdin.buffer.readline());exec(m['agent'],{'__name__':'__wand_agent__','REQUEST':m['request']})";
}
