using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Wand.Cli;

/// <summary>
/// How wand and rdg read numbers from the command line, in the user's words: System.CommandLine's own
/// message names the CLR type ("as expected type 'System.Nullable`1[System.Int32]'"). Every int and double
/// option gets a parser here (<see cref="ExplainParseErrors"/>, run once by <see cref="CommandRunner"/>);
/// options that take a PID or a port set theirs (<see cref="Pid"/>, <see cref="Port"/>) so a wrong value
/// says what they take, and a port outside 1-65535 is refused before anything binds or connects.
/// </summary>
public static class NumberOptions
{
    private const string PortWords = "a port number (1-65535)";

    /// <summary>Gives every int and double option (and int argument) below <paramref name="command"/> that has no parser of its own one that explains a wrong value.</summary>
    public static void ExplainParseErrors(Command command)
    {
        foreach (var option in command.Options)
        {
            switch (option)
            {
                case Option<int> o: o.CustomParser ??= r => Whole(r, "a whole number", int.MinValue, int.MaxValue) ?? 0; break;
                case Option<int?> o: o.CustomParser ??= r => Whole(r, "a whole number", int.MinValue, int.MaxValue); break;
                case Option<double> o: o.CustomParser ??= r => Number(r) ?? 0; break;
                case Option<double?> o: o.CustomParser ??= Number; break;
            }
        }
        foreach (var argument in command.Arguments)
        {
            switch (argument)
            {
                case Argument<int> a: a.CustomParser ??= r => Whole(r, "a whole number", int.MinValue, int.MaxValue) ?? 0; break;
                case Argument<int?> a: a.CustomParser ??= r => Whole(r, "a whole number", int.MinValue, int.MaxValue); break;
            }
        }
        foreach (var sub in command.Subcommands) ExplainParseErrors(sub);
    }

    /// <summary>A process ID: a positive whole number.</summary>
    public static int? Pid(ArgumentResult r) => Whole(r, "a process ID (a whole number)", 1, int.MaxValue);

    /// <summary><see cref="Pid"/> for a required option.</summary>
    public static int RequiredPid(ArgumentResult r) => Pid(r) ?? 0;

    /// <summary>A TCP port, 1-65535.</summary>
    public static int? Port(ArgumentResult r) => Whole(r, PortWords, 1, 65535);

    /// <summary><see cref="Port"/> for an option with a default.</summary>
    public static int PortWithDefault(ArgumentResult r) => Port(r) ?? 0;

    /// <summary>A TCP port, or 0 where 0 means "pick a free one".</summary>
    public static int PortOrZero(ArgumentResult r) => Whole(r, $"{PortWords[..^1]}, or 0 for a free one)", 0, 65535) ?? 0;

    private static int? Whole(ArgumentResult r, string takes, int min, int max)
    {
        if (r.Tokens.Count == 0) return null;
        var text = r.Tokens[^1].Value;
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max) return value;
        r.AddError($"{Name(r)} takes {takes}, not '{text}'");
        return null;
    }

    private static double? Number(ArgumentResult r)
    {
        if (r.Tokens.Count == 0) return null;
        var text = r.Tokens[^1].Value;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)) return value;
        r.AddError($"{Name(r)} takes a number (like 5 or 2.5), not '{text}'");
        return null;
    }

    private static string Name(ArgumentResult r) => r.Parent is OptionResult o ? o.Option.Name : r.Argument.Name;
}
