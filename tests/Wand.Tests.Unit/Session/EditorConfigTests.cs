using System.Text.Json.Nodes;
using Wand.Session;
using Xunit;

namespace Wand.Tests.Unit.Session;

public class EditorConfigTests
{
    [Fact]
    public void VsCodeConfigurationIsADebugpyAttachWithPathMappings()
    {
        var json = JsonNode.Parse(EditorConfig.VsCodeJson("wand: PID 7", "127.0.0.1", 5679, "${workspaceFolder}", "/srv/app"))!;
        Assert.Equal("debugpy", (string?)json["type"]);
        Assert.Equal("attach", (string?)json["request"]);
        Assert.Equal(5679, (int?)json["connect"]!["port"]);
        Assert.Equal("127.0.0.1", (string?)json["connect"]!["host"]);
        Assert.Equal("${workspaceFolder}", (string?)json["pathMappings"]![0]!["localRoot"]);
        Assert.Equal("/srv/app", (string?)json["pathMappings"]![0]!["remoteRoot"]);
    }

    [Fact]
    public void NvimSnippetQuotesPathsSafely()
    {
        var lua = EditorConfig.NvimDap("n", "127.0.0.1", 5679, null, "/srv/we\"ird\\path");
        Assert.Contains("localRoot = vim.fn.getcwd()", lua);
        Assert.Contains("remoteRoot = \"/srv/we\\\"ird\\\\path\"", lua);
        Assert.Contains("port = 5679", lua);
        Assert.Contains("type = 'python'", lua);
    }
}
