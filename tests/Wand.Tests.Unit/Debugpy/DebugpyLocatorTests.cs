using Wand.Injection.Debugpy;
using Xunit;

namespace Wand.Tests.Unit.Debugpy;

public sealed class DebugpyLocatorTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("wand-locator-").FullName;

    public void Dispose() => Directory.Delete(_home, true);

    private string FakeDebugpy(string parent)
    {
        var dir = Path.Combine(parent, "debugpy");
        Directory.CreateDirectory(Path.Combine(dir, "_vendored"));
        File.WriteAllText(Path.Combine(dir, "__init__.py"), "");
        return dir;
    }

    [Fact]
    public void PrefersTheExplicitPathThenTheVariableThenVsCode()
    {
        var vscode = FakeDebugpy(Path.Combine(_home, ".vscode/extensions/ms-python.debugpy-2025.1.0/bundled/libs"));
        var fromEnv = FakeDebugpy(Path.Combine(_home, "env"));
        var explicitOne = FakeDebugpy(Path.Combine(_home, "explicit"));
        var env = new Dictionary<string, string> { ["WAND_DEBUGPY"] = fromEnv };
        var locator = new DebugpyLocator(_home, k => env.GetValueOrDefault(k));

        Assert.Equal(explicitOne, locator.Find(explicitOne));
        Assert.Equal(explicitOne, locator.Find(Path.GetDirectoryName(explicitOne))); // a site-packages folder works too
        Assert.Equal(fromEnv, locator.Find(null));
        env.Clear();
        Assert.Equal(vscode, locator.Find(null));
    }

    [Fact]
    public void TakesTheNewestVsCodeExtension()
    {
        FakeDebugpy(Path.Combine(_home, ".vscode/extensions/ms-python.debugpy-2025.9.0/bundled/libs"));
        var newer = FakeDebugpy(Path.Combine(_home, ".vscode/extensions/ms-python.debugpy-2025.10.0/bundled/libs"));
        FakeDebugpy(Path.Combine(_home, ".vscode/extensions/ms-python.debugpy-2024.12.3/bundled/libs"));
        Assert.Equal(newer, new DebugpyLocator(_home, _ => null).Find(null));
    }

    [Fact]
    public void IgnoresFoldersThatAreNotDebugpy()
    {
        Directory.CreateDirectory(Path.Combine(_home, "fake/debugpy"));
        var locator = new DebugpyLocator(_home, _ => null);
        Assert.Null(new DebugpyLocator(_home, k => k == "WAND_DEBUGPY" ? Path.Combine(_home, "fake/debugpy") : null).Find(Path.Combine(_home, "fake")));
        Assert.Contains(locator.SearchPatterns(null), p => p.Contains(".vscode/extensions/ms-python.debugpy-*/bundled/libs"));
    }
}
