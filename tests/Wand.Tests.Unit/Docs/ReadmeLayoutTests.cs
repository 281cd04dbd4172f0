using Xunit;

namespace Wand.Tests.Unit.Docs;

/// <summary>Issue 17, item 7: README's Layout names every folder of the library and every project folder of src/, tests/, bench/ and samples/.</summary>
public class ReadmeLayoutTests
{
    private static readonly HashSet<string> NotSource = ["bin", "obj", "__pycache__"];

    [Fact]
    public void LayoutNamesEveryFolderOfTheTree()
    {
        var root = RepoRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var start = readme.IndexOf("## Layout", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no Layout section");
        var block = readme[readme.IndexOf("```", start, StringComparison.Ordinal)..];
        var lines = block[3..block.IndexOf("```", 3, StringComparison.Ordinal)].Split('\n');

        var core = Path.Combine(root, "src/Wand.Core");
        var missing = Folders(core, recursive: true).Select(d => "  " + Path.GetRelativePath(core, d).Replace('\\', '/') + "/")
            .Where(name => !lines.Any(l => l.StartsWith(name, StringComparison.Ordinal)))
            .Concat(new[] { "src", "tests", "bench", "samples" }.SelectMany(top => Folders(Path.Combine(root, top), recursive: false))
                .Select(d => Path.GetRelativePath(root, d).Replace('\\', '/') + "/")
                .Where(name => !lines.Any(l => l.StartsWith(name, StringComparison.Ordinal))))
            .ToList();
        Assert.True(missing.Count == 0, $"README.md's Layout does not name: {string.Join(", ", missing)}");
    }

    private static IEnumerable<string> Folders(string dir, bool recursive) =>
        Directory.GetDirectories(dir).Where(d => !NotSource.Contains(Path.GetFileName(d)))
            .SelectMany(d => recursive ? [d, .. Folders(d, true)] : new[] { d });

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Wand.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no Wand.slnx above {AppContext.BaseDirectory}");
    }
}
