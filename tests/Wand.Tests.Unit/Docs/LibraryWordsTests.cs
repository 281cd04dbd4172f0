using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace Wand.Tests.Unit.Docs;

/// <summary>
/// Issue 17, item 2: the library names none of wand's or rdg's options and commands. It raises typed errors
/// and reports typed choices (Wand.Errors.Remedy); the CLI words them (Wand.Cli.ErrorWording), so an option
/// renamed in the CLI cannot leave a stale name in a message. Flags of the other programs wand runs or reads
/// (kubectl, srun, podman, python, uvicorn, debugpy's adapter) are allowed where they are plainly theirs.
/// </summary>
public partial class LibraryWordsTests
{
    /// <summary>
    /// A literal that is one flag alone is an argument wand passes to another program or looks for in one's
    /// command line; these are also options of wand's own, so they are allowed only in the file that runs that program.
    /// </summary>
    private static readonly HashSet<(string File, string Flag)> ArgumentsOfOthersNamedAsOurs =
    [
        ("Transport/Kubernetes/KubectlClient.cs", "--context"), // kubectl's own --context, --kubeconfig, --namespace
        ("Transport/Kubernetes/KubectlClient.cs", "--kubeconfig"),
        ("Transport/Kubernetes/KubectlClient.cs", "--namespace"),
        ("Hpc/ProgramCommand.cs", "--help"), // python --help: nothing to debug
    ];

    /// <summary>Flags in prose that are another program's, allowed only beside that program's name in the same literal.</summary>
    private static readonly (string Program, string Phrase)[] PhrasesOfOthers =
    [
        ("pip", "pip install --force-reinstall"),
        ("pip", "pip install --user"),
        ("uWSGI", "without --enable-threads"),
        ("uWSGI", "with --enable-threads (or --threads N)"),
        ("docker", "docker run --cap-add"),
        ("py-spy", "py-spy dump --pid"),
        ("PYTHON_DISABLE_REMOTE_DEBUG", "built --without-remote-debug"), // CPython's configure option
        ("kubectl", "kubectl get pods --show-labels"),
        ("kubectl", "kubectl get pods --watch"),
        ("python", "python --help/--version"),
    ];

    [Fact]
    public void NoLiteralOfTheLibraryNamesAnOptionOrCommandOfOurs()
    {
        var root = RepoRoot();
        var ours = new[] { "src/Wand.Cli", "src/Rdg.Cli", "src/Wand.Cli.Common" }
            .SelectMany(p => Directory.EnumerateFiles(Path.Combine(root, p), "*.cs", SearchOption.AllDirectories))
            .SelectMany(f => Literals(File.ReadAllText(f))).Select(l => l.Text).Where(t => LoneFlag().IsMatch(t)).ToHashSet();
        Assert.Contains("--pod-container", ours); // the scan of the CLI works

        var core = Path.Combine(root, "src/Wand.Core");
        var found = new List<string>();
        foreach (var file in Directory.EnumerateFiles(core, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/", StringComparison.Ordinal)))
        {
            var name = Path.GetRelativePath(core, file).Replace('\\', '/');
            foreach (var (line, text) in Literals(File.ReadAllText(file)))
            {
                if (LoneFlag().IsMatch(text))
                {
                    if (ours.Contains(text.TrimEnd('=')) && !ArgumentsOfOthersNamedAsOurs.Contains((name, text)))
                        found.Add($"{name}:{line}: \"{text}\" (an option of ours; another program's? add it to {nameof(ArgumentsOfOthersNamedAsOurs)})");
                    continue;
                }
                var prose = PhrasesOfOthers.Where(p => text.Contains(p.Program, StringComparison.Ordinal))
                    .Aggregate(text, (t, p) => t.Replace(p.Phrase, "", StringComparison.Ordinal));
                if (Flag().Match(prose) is { Success: true } flag)
                    found.Add($"{name}:{line}: {flag.Value} in \"{text}\" (give the exception a Remedy, or the progress step a choice, for the CLI to word)");
                if (Command().Match(text) is { Success: true } command)
                    found.Add($"{name}:{line}: `{command.Value}` in \"{text}\" (a Remedy the CLI words)");
            }
        }
        Assert.True(found.Count == 0, "the library names options or commands of wand's or rdg's:\n" + string.Join("\n", found));
    }

    [Fact]
    public void TheScanFindsLiteralsOfEveryForm()
    {
        const string source = """"
            // "--comment" is not a literal
            var a = "plain --one";
            var b = $"interpolated {x} --pid {string.Join(" or --pod-container ", y)} {{braces}}";
            var c = @"verbatim ""--all""";
            var d = '"'; var e = "after a char --keep";
            /* "--block" */ var f = "\"escaped\" --port";
            var g = $$"""raw {{x}} wand ps""";
            """";
        var texts = Literals(source).Select(l => l.Text).ToList();
        Assert.Equal(["plain --one", "interpolated  --pid  {{braces}}", " or --pod-container ", "verbatim \"--all\"", "after a char --keep", "\"escaped\" --port", "raw {{x}} wand ps"], texts);
        Assert.Equal([2, 3, 3, 4, 5, 6, 7], Literals(source).Select(l => l.Line));
    }

    /// <summary>The text of every string literal in C# <paramref name="source"/> (an interpolation's holes left out, their own literals listed after it), with its line.</summary>
    internal static List<(int Line, string Text)> Literals(string source)
    {
        var found = new List<(int, string)>();
        var i = 0;
        Scan(source, ref i, found, stopAtBrace: false);
        return found;
    }

    private static void Scan(string s, ref int i, List<(int, string)> found, bool stopAtBrace)
    {
        var depth = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '/' && At(s, i + 1, '/')) { while (i < s.Length && s[i] != '\n') i++; }
            else if (c == '/' && At(s, i + 1, '*')) { var end = s.IndexOf("*/", i + 2, StringComparison.Ordinal); i = end < 0 ? s.Length : end + 2; }
            else if (c == '\'') { i++; while (i < s.Length && s[i] != '\'') i += s[i] == '\\' ? 2 : 1; i++; }
            else if (c is '"' or '$' or '@' && StringStart(s, i) is { } start) String(s, ref i, start, found);
            else if (stopAtBrace && c == '{') { depth++; i++; }
            else if (stopAtBrace && c == '}') { if (depth-- == 0) return; i++; }
            else i++;
        }
    }

    /// <summary>The prefix of a string literal at <paramref name="i"/>: how many $, whether verbatim, how many opening quotes.</summary>
    private static (int Dollars, bool Verbatim, int Quotes)? StringStart(string s, int i)
    {
        var j = i;
        var dollars = 0;
        var verbatim = false;
        while (j < s.Length && (s[j] == '$' || s[j] == '@')) { if (s[j] == '$') dollars++; else verbatim = true; j++; }
        if (j >= s.Length || s[j] != '"' || (i > 0 && (char.IsLetterOrDigit(s[i - 1]) || s[i - 1] == '_'))) return null;
        var quotes = 0;
        while (j + quotes < s.Length && s[j + quotes] == '"') quotes++;
        return (dollars, verbatim, quotes >= 3 ? quotes : 1);
    }

    private static void String(string s, ref int i, (int Dollars, bool Verbatim, int Quotes) start, List<(int, string)> found)
    {
        var line = s[..i].Count(c => c == '\n') + 1;
        var index = found.Count;
        found.Add((line, ""));
        while (s[i] != '"') i++;
        i += start.Quotes;
        var text = new StringBuilder();
        var raw = start.Quotes >= 3;
        var close = new string('"', start.Quotes);
        while (i < s.Length)
        {
            if (raw && string.CompareOrdinal(s, i, close, 0, close.Length) == 0) { i += close.Length; break; }
            var c = s[i];
            if (!raw && c == '"')
            {
                if (start.Verbatim && At(s, i + 1, '"')) { text.Append('"'); i += 2; continue; }
                i++;
                break;
            }
            if (!raw && !start.Verbatim && c == '\\') { text.Append(s[i + 1] switch { 'n' => '\n', 't' => '\t', var e => e }); i += 2; continue; }
            if (!raw && start.Dollars > 0 && c == '{')
            {
                if (At(s, i + 1, '{')) { text.Append("{{"); i += 2; continue; }
                i++;
                Scan(s, ref i, found, stopAtBrace: true); // the hole: an expression, perhaps with literals of its own
                i++;
                continue;
            }
            text.Append(c);
            i++;
        }
        found[index] = (line, text.ToString());
    }

    private static bool At(string s, int i, char c) => i < s.Length && s[i] == c;

    /// <summary>A literal that is one flag: an argument to (or read from) another program's command line.</summary>
    [GeneratedRegex(@"^--[a-z][a-z0-9-]*=?$")]
    private static partial Regex LoneFlag();

    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9-]*")]
    private static partial Regex Flag();

    [GeneratedRegex(@"\b(wand (ps|exec|debug|stacks|pods|inject)|rdg (init|debug|attach|tunnel|stacks|api|node))\b")]
    private static partial Regex Command();

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Wand.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no Wand.slnx above {AppContext.BaseDirectory}");
    }
}
