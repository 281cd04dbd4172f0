using Spectre.Console;
using Wand.Errors;

namespace Wand.Cli;

/// <summary>The terminal implementation of <see cref="IUserInterface"/>: Spectre.Console on stderr, plain text when simple.</summary>
public sealed class ConsoleUi : IUserInterface
{
    // Created on first use: setting Spectre.Console up costs tens of milliseconds that plain output never needs.
    private readonly Lazy<IAnsiConsole> _console = new(() => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Console.Error),
        Ansi = AnsiSupport.Detect,
        ColorSystem = ColorSystemSupport.Detect,
    }));

    private ConsoleUi(bool simple) => Simple = simple;

    private IAnsiConsole Err => _console.Value;

    public static ConsoleUi Create() =>
        new(Environment.GetEnvironmentVariable("DEBUGWAND_SIMPLE_UI") == "1" || Console.IsErrorRedirected);

    public bool Simple { get; }

    public TextWriter Out => Console.Out;

    public bool CanPrompt => !Console.IsInputRedirected && !Console.IsErrorRedirected;

    public T Choose<T>(string title, IReadOnlyList<T> choices, Func<T, string> describe) where T : notnull
    {
        if (!Simple)
            return Err.Prompt(new SelectionPrompt<T>().Title(Markup.Escape(title)).UseConverter(c => Markup.Escape(describe(c))).AddChoices(choices));
        Console.Error.WriteLine(title);
        for (var i = 0; i < choices.Count; i++) Console.Error.WriteLine($"  [{i + 1}] {describe(choices[i])}");
        while (true)
        {
            Console.Error.Write($"choice [1-{choices.Count}, Enter for 1]: ");
            var answer = Console.ReadLine();
            if (string.IsNullOrWhiteSpace(answer)) return choices[0];
            if (int.TryParse(answer, out var n) && n >= 1 && n <= choices.Count) return choices[n - 1];
        }
    }

    public bool Confirm(string question, bool defaultAnswer)
    {
        if (!Simple) return Err.Confirm(Markup.Escape(question), defaultAnswer);
        Console.Error.Write($"{question} [{(defaultAnswer ? "Y/n" : "y/N")}] ");
        var answer = Console.ReadLine()?.Trim().ToLowerInvariant();
        return string.IsNullOrEmpty(answer) ? defaultAnswer : answer.StartsWith('y');
    }

    public void Step(string message) => Line("·", "grey", message);

    public void Step(string message, Remedy? choice) => Step(choice is null ? message : $"{message} ({ErrorWording.Words(choice)})");

    public void Info(string message) => Line("✓", "green", message);

    public void Warn(string message) => Line("!", "yellow", message);

    public void Error(string message, string? hint)
    {
        Line("error:", "red", message);
        if (hint is not null) Line("  hint:", "grey", hint);
    }

    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows) =>
        TextTable.Write(Out, headers, rows);

    private void Line(string tag, string color, string message)
    {
        if (Simple) Console.Error.WriteLine($"{tag} {message}");
        else Err.MarkupLine($"[{color}]{Markup.Escape(tag)}[/] {Markup.Escape(message)}");
    }
}
