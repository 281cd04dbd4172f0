using Wand.Discovery;
using Wand.Errors;

namespace Wand.Hpc;

/// <summary>
/// The Python invocation given to <c>rdg debug</c>, checked: which interpreter runs it (the one the
/// user named, resolved on PATH), its options, and what it runs (script, <c>-m module</c>, <c>-c code</c>).
/// A console script such as <c>torchrun</c> or <c>accelerate</c> is run by the interpreter of its
/// shebang, as the script it is.
/// </summary>
public sealed record ProgramCommand(string Interpreter, IReadOnlyList<string> InterpreterOptions, string Kind, string Value, IReadOnlyList<string> Arguments)
{
    public const string Script = "script";
    public const string Module = "module";
    public const string Code = "code";

    /// <summary>The CLI shows its usage line: the Python command line it takes.</summary>
    private static readonly Remedy Usage = new(RemedyKind.GiveProgramCommand);

    /// <summary>
    /// An agent that starts the ranks as child Pythons with RANK set (torchrun, <c>python -m
    /// torch.distributed.run</c> or <c>.launch</c>): it runs as it is, and the chosen rank's child gets the debugger.
    /// </summary>
    public bool SpawnsRanks => Kind == Script && Path.GetFileName(Value) == "torchrun"
        || Kind == Module && Value is "torch.distributed.run" or "torch.distributed.launch";

    /// <summary>-I and -P keep the script's folder (or the cwd) off sys.path; the launcher must do the same.</summary>
    public bool SafePath => InterpreterOptions.Any(o => o.StartsWith('-') && !o.StartsWith("--", StringComparison.Ordinal) && (o.Contains('I') || o.Contains('P')) && !o.StartsWith("-X", StringComparison.Ordinal) && !o.StartsWith("-W", StringComparison.Ordinal));

    /// <param name="which">Resolves a bare command name on PATH (null when not found).</param>
    /// <param name="readHead">The first bytes of a file (null when unreadable), for shebangs.</param>
    /// <param name="exists">Whether a file exists (File.Exists by default).</param>
    public static ProgramCommand Parse(IReadOnlyList<string> argv, Func<string, string?> which, Func<string, string?> readHead, Func<string, bool>? exists = null)
    {
        if (argv.Count == 0)
            throw new WandException(ExitCodes.Usage, "debugging needs the Python command to run", remedy: Usage);
        var first = argv[0];
        var resolved = first.Contains('/') ? first : which(first);
        if (resolved is null)
            throw new WandException(ExitCodes.Usage, $"'{first}' was not found on PATH", "give the interpreter's full path (e.g. /path/to/venv/bin/python) or load its module first");
        if (!PythonCommandLine.IsInterpreterName(first))
        {
            // A Python console script (torchrun, accelerate, a tool of the venv): its shebang names the interpreter.
            if (Shebang(readHead(resolved)) is { } interpreter && PythonCommandLine.IsInterpreterName(interpreter))
                return new ProgramCommand(interpreter, [], Script, resolved, [.. argv.Skip(1)]);
            throw new WandException(ExitCodes.Usage, $"'{first}' is not a Python interpreter or a Python script", remedy: Usage);
        }
        if (!(exists ?? File.Exists)(resolved))
            throw new WandException(ExitCodes.Usage, $"the interpreter {resolved} does not exist", "check the path of your venv (ls /path/to/venv/bin)");
        var cmd = PythonCommandLine.Parse([resolved, .. argv.Skip(1)]);
        if (cmd.Module is { } module)
            return module.Length == 0 ? throw new WandException(ExitCodes.Usage, "-m needs a module name", remedy: Usage) : new(resolved, cmd.InterpreterOptions, Module, module, cmd.Arguments);
        if (cmd.Code is { } code) return new(resolved, cmd.InterpreterOptions, Code, code, cmd.Arguments);
        if (cmd.Script is null or "-")
            throw new WandException(ExitCodes.Usage, "debugging needs a script, -m MODULE or -c CODE (an interactive or stdin Python cannot wait for a debugger)", remedy: Usage);
        if (cmd.InterpreterOptions.Any(o => o is "-h" or "--help" or "-V" or "--version"))
            throw new WandException(ExitCodes.Usage, "nothing to debug in python --help/--version", remedy: Usage);
        return new(resolved, cmd.InterpreterOptions, Script, cmd.Script, cmd.Arguments);
    }

    /// <summary>The interpreter of a <c>#!</c> line: <c>#!/venv/bin/python3</c> or <c>#!/usr/bin/env python3</c>.</summary>
    public static string? Shebang(string? head)
    {
        if (head is null || !head.StartsWith("#!", StringComparison.Ordinal)) return null;
        var parts = head[2..].Split('\n', 2)[0].Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) return null;
        if (Path.GetFileName(parts[0]) == "env")
            return parts.Skip(1).FirstOrDefault(p => !p.StartsWith('-'));
        return parts[0];
    }

    /// <summary>PATH lookup as a shell does it (executable regular files only).</summary>
    public static string? Which(string name, string? path)
    {
        foreach (var dir in (path ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                return candidate;
        }
        return null;
    }
}
