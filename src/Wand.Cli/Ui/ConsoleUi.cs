using Spectre.Console;

namespace Wand.Cli;

/// <summary>The terminal implementation of <see cref="IUserInterface"/>: Spectre.Console on stderr, plain text when simple.</summary>
public sealed class ConsoleUi : IUserInterface
{
    private readonly IAnsiConsole _err;

    private ConsoleUi(bool simple)
    {
        Simple = simple;
        _err = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error),
            Ansi = simple ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = simple ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });
    }

    public static ConsoleUi Create() =>
        new(Environment.GetEnvironmentVariable("DEBUGWAND_SIMPLE_UI") == "1" || Console.IsErrorRedirected);

    public bool Simple { get; }

    public TextWriter Out => Console.Out;

    public void Step(string message) => Line("·", "grey", message);

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
        else _err.MarkupLine($"[{color}]{Markup.Escape(tag)}[/] {Markup.Escape(message)}");
    }
}
