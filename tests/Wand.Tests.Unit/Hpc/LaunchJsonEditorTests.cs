using System.Text.Json;
using System.Text.Json.Nodes;
using Wand.Hpc;
using Xunit;

namespace Wand.Tests.Unit.Hpc;

/// <summary><c>rdg init</c>'s launch.json editing on files as VS Code and users really write them.</summary>
public class LaunchJsonEditorTests
{
    /// <summary>What VS Code writes for "Add Configuration..." with the Python Debugger extension.</summary>
    private const string VsCodeDefault = """
        {
            // Use IntelliSense to learn about possible attributes.
            // Hover to view descriptions of existing attributes.
            // For more information, visit: https://go.microsoft.com/fwlink/?linkid=830387
            "version": "0.2.0",
            "configurations": [
                {
                    "name": "Python Debugger: Current File",
                    "type": "debugpy",
                    "request": "launch",
                    "program": "${file}",
                    "console": "integratedTerminal"
                }
            ]
        }
        """;

    /// <summary>Tabs, trailing commas, block and line comments, a comment after the last entry, an existing input, a compound.</summary>
    private const string HandWritten =
        "{\n" +
        "\t\"version\": \"0.2.0\",\n" +
        "\t/* team configurations: keep in sync with docs/debugging.md */\n" +
        "\t\"configurations\": [\n" +
        "\t\t{\n" +
        "\t\t\t\"name\": \"train (local)\",\n" +
        "\t\t\t\"type\": \"debugpy\",\n" +
        "\t\t\t\"request\": \"launch\",\n" +
        "\t\t\t\"module\": \"train\", // python -m train\n" +
        "\t\t\t\"args\": [\"--epochs\", \"${input:epochs}\",],\n" +
        "\t\t},\n" +
        "\t\t{\n" +
        "\t\t\t\"name\": \"tests\",\n" +
        "\t\t\t\"type\": \"debugpy\",\n" +
        "\t\t\t\"request\": \"launch\",\n" +
        "\t\t\t\"module\": \"pytest\",\n" +
        "\t\t}, // the last one\n" +
        "\t],\n" +
        "\t\"compounds\": [{ \"name\": \"both\", \"configurations\": [\"train (local)\", \"tests\"] }],\n" +
        "\t\"inputs\": [\n" +
        "\t\t{ \"id\": \"epochs\", \"type\": \"promptString\", \"default\": \"3\" }, // how long\n" +
        "\t],\n" +
        "}\n";

    private static JsonObject Parse(string text) =>
        JsonNode.Parse(text, null, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })!.AsObject();

    private static JsonObject Config(JsonObject root, string name) =>
        root["configurations"]!.AsArray().Select(c => c!.AsObject()).Single(c => (string?)c["name"] == name);

    [Fact]
    public void NewFileHasBothConfigurationsAndTheirInputs()
    {
        var root = Parse(LaunchJsonEditor.NewFile(new LaunchJsonSettings()));
        Assert.Equal("0.2.0", (string?)root["version"]);
        var tunnel = Config(root, LaunchJsonSettings.TunnelName);
        Assert.Equal("localhost", (string?)tunnel["connect"]!["host"]);
        Assert.Equal("${input:localTunnelPort}", (string?)tunnel["connect"]!["port"]);
        Assert.Equal("${input:remoteWorkspaceFolder}", (string?)tunnel["pathMappings"]![0]!["remoteRoot"]);
        var node = Config(root, LaunchJsonSettings.NodeName);
        Assert.Equal("${input:computeNodeHost}", (string?)node["connect"]!["host"]);
        var inputs = root["inputs"]!.AsArray().ToDictionary(i => (string)i!["id"]!, i => (string?)i!["default"]);
        Assert.Equal("5679", inputs["localTunnelPort"]);
        Assert.Equal("5679", inputs["computeNodePort"]);
        Assert.Contains("remoteWorkspaceFolder", inputs.Keys);
        Assert.Contains("computeNodeHost", inputs.Keys);
    }

    [Fact]
    public void VsCodeDefaultKeepsItsCommentsAndConfigurationAndIndentation()
    {
        var edit = LaunchJsonEditor.Apply(VsCodeDefault, new LaunchJsonSettings());
        Assert.True(edit.Changed);
        Assert.Empty(edit.Notes);
        // Everything the user had is still there, byte for byte, in the same order.
        Assert.StartsWith(VsCodeDefault[..VsCodeDefault.IndexOf("        }", StringComparison.Ordinal)], edit.Text, StringComparison.Ordinal);
        Assert.Contains("    // Hover to view descriptions of existing attributes.\n", edit.Text, StringComparison.Ordinal);
        var root = Parse(edit.Text);
        Assert.Equal(3, root["configurations"]!.AsArray().Count);
        Assert.Equal("${file}", (string?)Config(root, "Python Debugger: Current File")["program"]);
        Assert.Contains("\n        {\n            \"name\": \"Python Debugger: Remote Attach (via SSH Tunnel)\",", edit.Text, StringComparison.Ordinal);
        Assert.Contains("\n    \"inputs\": [\n        {\n            \"id\": \"localTunnelPort\",", edit.Text, StringComparison.Ordinal);
        Assert.DoesNotContain('\t', edit.Text);
    }

    [Fact]
    public void HandWrittenFileKeepsCommentsTrailingCommasTabsAndOtherEntries()
    {
        var edit = LaunchJsonEditor.Apply(HandWritten, new LaunchJsonSettings());
        var text = edit.Text;
        foreach (var kept in new[]
                 {
                     "\t/* team configurations: keep in sync with docs/debugging.md */\n",
                     "\t\t\t\"module\": \"train\", // python -m train\n",
                     "\t\t\t\"args\": [\"--epochs\", \"${input:epochs}\",],\n",
                     "\t\t}, // the last one\n",
                     "\t\"compounds\": [{ \"name\": \"both\", \"configurations\": [\"train (local)\", \"tests\"] }],\n",
                     "\t\t{ \"id\": \"epochs\", \"type\": \"promptString\", \"default\": \"3\" }, // how long\n",
                 })
            Assert.Contains(kept, text, StringComparison.Ordinal);
        var root = Parse(text);
        Assert.Equal(["train (local)", "tests", LaunchJsonSettings.TunnelName, LaunchJsonSettings.NodeName],
            root["configurations"]!.AsArray().Select(c => (string?)c!["name"]));
        Assert.Equal(["epochs", "localTunnelPort", "remoteWorkspaceFolder", "computeNodeHost", "computeNodePort"],
            root["inputs"]!.AsArray().Select(c => (string?)c!["id"]));
        // The file's style: tab indentation, and a trailing comma after the new last entry as after the old one.
        Assert.Contains("\t\t{\n\t\t\t\"name\": \"Python Debugger: Attach to Compute Node\",", text, StringComparison.Ordinal);
        Assert.Contains("\t\t},\n\t],\n\t\"compounds\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public void RunningTwiceChangesNothing()
    {
        foreach (var start in new[] { VsCodeDefault, HandWritten, LaunchJsonEditor.NewFile(new LaunchJsonSettings()) })
        {
            var settings = new LaunchJsonSettings(5679, "/home/ada/project", "node042", 5680);
            var once = LaunchJsonEditor.Apply(start, settings);
            var twice = LaunchJsonEditor.Apply(once.Text, settings);
            Assert.False(twice.Changed);
            Assert.Equal(once.Text, twice.Text);
        }
    }

    [Fact]
    public void KnownValuesAreWrittenInAndUserPropertiesOfRdgConfigurationsSurvive()
    {
        var first = LaunchJsonEditor.Apply(VsCodeDefault, new LaunchJsonSettings()).Text;
        // The user tweaks rdg's configuration.
        var tweaked = first.Replace("\"name\": \"Python Debugger: Remote Attach (via SSH Tunnel)\",",
            "\"name\": \"Python Debugger: Remote Attach (via SSH Tunnel)\",\n            \"subProcess\": false,", StringComparison.Ordinal);
        var edit = LaunchJsonEditor.Apply(tweaked, new LaunchJsonSettings(6000, "/scratch/ada/run1", "gpu017.cluster", 5680));
        var root = Parse(edit.Text);
        var tunnel = Config(root, LaunchJsonSettings.TunnelName);
        Assert.False((bool)tunnel["subProcess"]!);
        Assert.Equal(6000, (int)tunnel["connect"]!["port"]!);
        Assert.Equal("/scratch/ada/run1", (string?)tunnel["pathMappings"]![0]!["remoteRoot"]);
        var node = Config(root, LaunchJsonSettings.NodeName);
        Assert.Equal("gpu017.cluster", (string?)node["connect"]!["host"]);
        Assert.Equal(5680, (int)node["connect"]!["port"]!);
        var inputs = root["inputs"]!.AsArray().ToDictionary(i => (string)i!["id"]!, i => (string?)i!["default"]);
        Assert.Equal("6000", inputs["localTunnelPort"]);
        Assert.Equal("gpu017.cluster", inputs["computeNodeHost"]);
        Assert.Equal(3, root["configurations"]!.AsArray().Count);
        Assert.Contains("// Hover to view descriptions", edit.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSeedToolsOwnConfigurationIsUpdatedInPlaceNotDuplicated()
    {
        const string seed = """
            {
              "version": "0.2.0",
              "configurations": [
                {
                  "name": "Python Debugger: Remote Attach (via SSH Tunnel)",
                  "type": "debugpy",
                  "request": "attach",
                  "connect": { "host": "localhost", "port": "${input:localTunnelPort}" },
                  // mapped by hand
                  "pathMappings": [{ "localRoot": "${workspaceFolder}", "remoteRoot": "${input:remoteWorkspaceFolder}" }]
                }
              ]
            }
            """;
        var edit = LaunchJsonEditor.Apply(seed, new LaunchJsonSettings(RemoteRoot: "/work/ada"));
        var root = Parse(edit.Text);
        Assert.Equal(2, root["configurations"]!.AsArray().Count);
        Assert.Equal("/work/ada", (string?)Config(root, LaunchJsonSettings.TunnelName)["pathMappings"]![0]!["remoteRoot"]);
        Assert.Single(edit.Notes); // its inner comment could not be kept, and the user is told
        Assert.Contains("\n  \"inputs\": [\n    {\n      \"id\"", edit.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ \"configurations\": [] }")]
    [InlineData("{\n  \"configurations\": [\n  ]\n}")]
    [InlineData("{}")]
    [InlineData("{ // nothing yet\n}")]
    [InlineData("\uFEFF{ \"version\": \"0.2.0\" }")]
    public void EmptyShapesGetValidContent(string text)
    {
        var edit = LaunchJsonEditor.Apply(text, new LaunchJsonSettings());
        var root = Parse(edit.Text.TrimStart('\uFEFF'));
        Assert.Equal(2, root["configurations"]!.AsArray().Count);
        Assert.Equal(4, root["inputs"]!.AsArray().Count);
        Assert.Equal(text.StartsWith('\uFEFF'), edit.Text.StartsWith('\uFEFF'));
        Assert.False(LaunchJsonEditor.Apply(edit.Text, new LaunchJsonSettings()).Changed);
    }

    [Fact]
    public void WindowsLineEndingsStayWindowsLineEndings()
    {
        var crlf = VsCodeDefault.Replace("\n", "\r\n", StringComparison.Ordinal);
        var text = LaunchJsonEditor.Apply(crlf, new LaunchJsonSettings()).Text;
        Assert.DoesNotContain("\n", text.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal(4, Parse(text)["inputs"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("{ \"configurations\": [ { \"name\": \"x\" ")]
    [InlineData("configurations: []")]
    [InlineData("{ \"configurations\": [ } ")]
    public void UnparseableTextThrowsJsonException(string text) =>
        Assert.ThrowsAny<JsonException>(() => LaunchJsonEditor.Apply(text, new LaunchJsonSettings()));

    [Theory]
    [InlineData("[]")]
    [InlineData("{ \"configurations\": {} }")]
    [InlineData("{ \"inputs\": 3 }")]
    public void JsoncThatIsNotALaunchJsonIsRefused(string text) =>
        Assert.Throws<FormatException>(() => LaunchJsonEditor.Apply(text, new LaunchJsonSettings()));
}
