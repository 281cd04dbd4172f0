using System.Text.Json.Nodes;
using Wand.Hpc;
using Wand.Tests.EndToEnd.Infrastructure;
using Xunit;

namespace Wand.Tests.EndToEnd;

/// <summary><c>rdg init</c> as a user runs it: VS Code's own file kept, unparseable files backed up, values from a session record.</summary>
public sealed class RdgInitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rdg-init-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string LaunchJson => Path.Combine(_dir, ".vscode", "launch.json");

    private Task<Infrastructure.CliResult> InitAsync(params string[] extra) =>
        RdgProcess.RunAsync(["init", "-w", _dir, .. extra], RdgProcess.Env(Path.Combine(_dir, "sessions")));

    private static JsonNode Parse(string text) =>
        JsonNode.Parse(text, null, new System.Text.Json.JsonDocumentOptions { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true })!;

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task CommentsAndOtherConfigurationsSurviveAndASecondRunChangesNothing()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(LaunchJson)!);
        const string mine = "{\n    // mine\n    \"version\": \"0.2.0\",\n    \"configurations\": [\n        { \"name\": \"local\", \"type\": \"debugpy\", \"request\": \"launch\", \"program\": \"${file}\" }, // keep\n    ],\n}\n";
        await File.WriteAllTextAsync(LaunchJson, mine);
        var first = await InitAsync();
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("updated", first.Stderr);
        var text = await File.ReadAllTextAsync(LaunchJson);
        Assert.Contains("    // mine\n", text);
        Assert.Contains("}, // keep\n", text);
        Assert.Equal(3, Parse(text)["configurations"]!.AsArray().Count);
        var second = await InitAsync();
        Assert.Contains("is up to date", second.Stderr);
        Assert.Equal(text, await File.ReadAllTextAsync(LaunchJson));
        Assert.False(File.Exists(LaunchJson + ".bak"));
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task AnUnparseableFileIsBackedUpWithAWarning()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(LaunchJson)!);
        await File.WriteAllTextAsync(LaunchJson, "{ \"configurations\": [ {\"name\": } ] }");
        var r = await InitAsync();
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("could not be parsed", r.Stderr);
        Assert.Contains("launch.json.bak", r.Stderr);
        Assert.Equal("{ \"configurations\": [ {\"name\": } ] }", await File.ReadAllTextAsync(LaunchJson + ".bak"));
        Assert.Equal(2, Parse(await File.ReadAllTextAsync(LaunchJson))["configurations"]!.AsArray().Count);
    }

    [Fact(Timeout = TestTimeouts.EndToEnd)]
    public async Task FromSessionWritesTheRealNodePortAndRemoteRoot()
    {
        new SessionStore(Path.Combine(_dir, "sessions")).Write(new SessionRecord("77", 4321, "debug", "listening", "gpu017", "10.1.2.3", 5683, 5679, "/scratch/ada/run", "3.12.1", null, "ada@login", 0, DateTimeOffset.UtcNow));
        var r = await InitAsync("--from-session", "77");
        Assert.True(r.ExitCode == 0, r.ToString());
        var root = Parse(await File.ReadAllTextAsync(LaunchJson));
        var configs = root["configurations"]!.AsArray();
        var tunnel = configs.Single(c => (string?)c!["name"] == LaunchJsonSettings.TunnelName)!;
        Assert.Equal(5679, (int)tunnel["connect"]!["port"]!);
        Assert.Equal("/scratch/ada/run", (string?)tunnel["pathMappings"]![0]!["remoteRoot"]);
        var node = configs.Single(c => (string?)c!["name"] == LaunchJsonSettings.NodeName)!;
        Assert.Equal(("10.1.2.3", 5683), ((string?)node["connect"]!["host"], (int)node["connect"]!["port"]!));

        var missing = await InitAsync("--from-session", "999");
        Assert.Equal(Wand.Errors.ExitCodes.ProcessNotFound, missing.ExitCode);
        Assert.Contains("no rdg session recorded for '999'", missing.Stderr);
    }
}
