namespace Wand.Cli;

/// <summary>
/// Separates rdg's own options from the program's command line before System.CommandLine sees them:
/// everything from the first token that is not an rdg option on belongs to the program, so
/// <c>rdg debug -l python train.py -p 3 --port 80</c> gives <c>-p 3 --port 80</c> to train.py.
/// </summary>
public static class DebugArguments
{
    /// <summary>rdg debug's options that take a value (as a separate token).</summary>
    public static readonly HashSet<string> WithValue = ["--port", "--listen-host", "--rank", "--post-mortem-timeout", "--login", "--debugpy", "--local-port"];

    /// <summary>For <c>debug ...</c>: rdg's options, then "--", then the program's command (unchanged otherwise).</summary>
    public static string[] Normalize(string[] args)
    {
        if (args.Length == 0 || args[0] != "debug") return args;
        var result = new List<string> { "debug" };
        var i = 1;
        while (i < args.Length)
        {
            var a = args[i];
            if (a == "--") { i++; break; }
            if (!a.StartsWith('-') || a == "-") break;
            result.Add(a);
            i++;
            if (WithValue.Contains(a) && i < args.Length) result.Add(args[i++]);
        }
        if (i < args.Length)
        {
            result.Add("--");
            result.AddRange(args[i..]);
        }
        return [.. result];
    }
}
