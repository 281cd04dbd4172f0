namespace Wand.Discovery;

/// <summary>
/// A Python command line split the way CPython reads it (Modules/main.c, `python --help`): the
/// interpreter, its options, then what runs (<c>-m module</c>, <c>-c code</c> or a script) and the
/// program's own arguments. A command line whose argv[0] is not an interpreter (a process renamed by
/// setproctitle such as "gunicorn: master [app]", or a frozen app) has its argv[0] as the script.
/// </summary>
public sealed record PythonCommandLine(
    string? Interpreter,
    IReadOnlyList<string> InterpreterOptions,
    string? Module,
    string? Code,
    string? Script,
    IReadOnlyList<string> Arguments)
{
    /// <summary>Interpreter options followed by a value, either attached (-Xdev) or as the next argument.</summary>
    private const string OptionsWithValue = "XW";

    /// <summary>
    /// What runs and its arguments, without the interpreter and its options. Equal for a reloader
    /// parent and the child it re-executes: Django and werkzeug rebuild the child's argv from
    /// sys.executable (not argv[0]) and add -W/-X options of their own.
    /// </summary>
    public string ProgramKey => string.Join('\0', [Module is not null ? "-m" : Code is not null ? "-c" : "", Module ?? Code ?? Script ?? "", .. Arguments]);

    /// <summary>
    /// The name of the program: the module of <c>-m</c> (without a trailing ".__main__"), the script's
    /// file name without ".py", or the part of a setproctitle name before ':' ("gunicorn"). Null for <c>-c</c>.
    /// </summary>
    public string? Tool
    {
        get
        {
            if (Module is not null) return Module.EndsWith(".__main__", StringComparison.Ordinal) ? Module[..^".__main__".Length] : Module;
            if (Script is null) return null;
            if (Interpreter is null) return Script.Split([':', ' '], 2)[0] is var head && head.Length > 0 ? Path.GetFileName(head) : null;
            var name = Path.GetFileName(Script);
            return name.EndsWith(".py", StringComparison.Ordinal) ? name[..^3] : name;
        }
    }

    public static PythonCommandLine Parse(IReadOnlyList<string> argv)
    {
        if (argv.Count == 0) return new(null, [], null, null, null, []);
        if (!IsInterpreterName(argv[0])) return new(null, [], null, null, argv[0], argv.Skip(1).ToArray());

        var options = new List<string>();
        for (var i = 1; i < argv.Count; i++)
        {
            var a = argv[i];
            if (a == "--")
                return Run(argv, options, script: i + 1 < argv.Count ? argv[i + 1] : null, rest: i + 2);
            if (a == "-" || !a.StartsWith('-'))
                return Run(argv, options, script: a, rest: i + 1);
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                options.Add(a);
                if (a == "--check-hash-based-pycs" && i + 1 < argv.Count) options.Add(argv[++i]);
                continue;
            }
            // A group of one-letter flags (-BIu); -c/-m/-X/-W take the rest of the group or the next argument.
            for (var j = 1; j < a.Length; j++)
            {
                var flag = a[j];
                if (flag is 'c' or 'm')
                {
                    var value = j + 1 < a.Length ? a[(j + 1)..] : i + 1 < argv.Count ? argv[++i] : "";
                    if (j > 1) options.Add(a[..j]);
                    var rest = argv.Skip(i + 1).ToArray();
                    return flag == 'c'
                        ? new(argv[0], options, null, value, null, rest)
                        : new(argv[0], options, value, null, null, rest);
                }
                if (OptionsWithValue.Contains(flag))
                {
                    if (j + 1 == a.Length && i + 1 < argv.Count) { options.Add(a); options.Add(argv[++i]); }
                    else options.Add(a);
                    goto nextArgument;
                }
            }
            options.Add(a);
        nextArgument:;
        }
        return new(argv[0], options, null, null, null, []);
    }

    /// <summary>python, python3, python3.14, python3.14t, python3.14d, pypy3 (as a path or a bare name).</summary>
    public static bool IsInterpreterName(string argv0)
    {
        if (argv0.Length == 0 || argv0.Any(char.IsWhiteSpace)) return false;
        // `/proc/PID/exe`: another process's interpreter run by path, as wand's exec route does.
        if (argv0.StartsWith("/proc/", StringComparison.Ordinal) && argv0.EndsWith("/exe", StringComparison.Ordinal)) return true;
        var name = Path.GetFileName(argv0);
        return name.StartsWith("python", StringComparison.OrdinalIgnoreCase) || name.StartsWith("pypy", StringComparison.OrdinalIgnoreCase);
    }

    private static PythonCommandLine Run(IReadOnlyList<string> argv, List<string> options, string? script, int rest) =>
        new(argv[0], options, null, null, script, argv.Skip(rest).ToArray());
}
