using Wand.Errors;
using Wand.Hpc;
using Xunit;

namespace Wand.Tests.Unit.Hpc;

public sealed class LaunchJsonFileTests : IDisposable
{
    private readonly string _workspace = Directory.CreateTempSubdirectory("rdg-init-").FullName;

    private string LaunchJson => Path.Combine(_workspace, ".vscode", "launch.json");

    public void Dispose() => Directory.Delete(_workspace, recursive: true);

    [Fact]
    public void CreatesTheFolderAndFile()
    {
        var outcome = LaunchJsonFile.Update(_workspace, new LaunchJsonSettings());
        Assert.True(outcome.Created);
        Assert.Contains(LaunchJsonSettings.TunnelName, File.ReadAllText(LaunchJson), StringComparison.Ordinal);
        Assert.False(LaunchJsonFile.Update(_workspace, new LaunchJsonSettings()).Changed);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(LaunchJson)!)); // no temporary file left
    }

    [Fact]
    public void UnparseableFileIsCopiedToBakAndNeverOverwritesAnEarlierBackup()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(LaunchJson)!);
        File.WriteAllText(LaunchJson, "{ \"configurations\": [ oops ] }");
        var outcome = LaunchJsonFile.Update(_workspace, new LaunchJsonSettings());
        Assert.Equal(LaunchJson + ".bak", outcome.BackupPath);
        Assert.NotNull(outcome.ParseError);
        Assert.Equal("{ \"configurations\": [ oops ] }", File.ReadAllText(LaunchJson + ".bak"));
        Assert.Contains(LaunchJsonSettings.NodeName, File.ReadAllText(LaunchJson), StringComparison.Ordinal);

        File.WriteAllText(LaunchJson, "not json either");
        Assert.Equal(LaunchJson + ".bak.1", LaunchJsonFile.Update(_workspace, new LaunchJsonSettings()).BackupPath);
        Assert.Equal("{ \"configurations\": [ oops ] }", File.ReadAllText(LaunchJson + ".bak"));
    }

    [Fact]
    public void WrongShapeIsLeftAloneWithAUsageError()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(LaunchJson)!);
        File.WriteAllText(LaunchJson, "[1, 2]");
        var e = Assert.Throws<WandException>(() => LaunchJsonFile.Update(_workspace, new LaunchJsonSettings()));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Equal("[1, 2]", File.ReadAllText(LaunchJson));
    }
}
