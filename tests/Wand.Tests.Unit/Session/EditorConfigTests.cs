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
    }

    /// <summary>
    /// Issue 13, defect 8: the snippet works with nvim-dap alone. nvim-dap-python is what defines a
    /// 'python' adapter and the configurations.python list; plain nvim-dap has neither, so the snippet
    /// defines a 'server' adapter on wand's port, creates the list before inserting into it, and its
    /// configuration names that adapter. The nvim-dap-python form is only mentioned, in a comment.
    /// </summary>
    [Fact]
    public void NvimSnippetNeedsNoPluginButNvimDap()
    {
        var lua = EditorConfig.NvimDap("wand: PID 7", "127.0.0.1", 5680, "/home/me/app", "/srv/app");
        var lines = lua.Split('\n');
        var code = lines.Where(l => !l.TrimStart().StartsWith("--", StringComparison.Ordinal)).ToList();
        var adapter = code.FindIndex(l => l == "dap.adapters.wand = { type = 'server', host = \"127.0.0.1\", port = 5680 }");
        var created = code.FindIndex(l => l == "dap.configurations.python = dap.configurations.python or {}");
        var inserted = code.FindIndex(l => l.StartsWith("table.insert(dap.configurations.python, {", StringComparison.Ordinal));
        Assert.True(code.IndexOf("local dap = require('dap')") is 0, lua);
        Assert.True(adapter > 0 && created > adapter && inserted > created, lua); // defined before used
        var configuration = string.Join('\n', code.Skip(inserted));
        Assert.Contains("type = 'wand', request = 'attach', name = \"wand: PID 7\"", configuration);
        Assert.Contains("pathMappings = { { localRoot = \"/home/me/app\", remoteRoot = \"/srv/app\" } }", configuration);
        Assert.DoesNotContain("'python'", string.Join('\n', code)); // nothing nvim-dap-python defines
        Assert.DoesNotContain("connect", string.Join('\n', code));  // the server adapter is where nvim-dap connects
        Assert.Equal(code.Sum(l => l.Count(c => c == '{')), code.Sum(l => l.Count(c => c == '}')));
        Assert.Equal(code.Sum(l => l.Count(c => c == '(')), code.Sum(l => l.Count(c => c == ')')));
        var mention = Assert.Single(lines, l => l.StartsWith("-- ", StringComparison.Ordinal));
        Assert.Contains("nvim-dap-python", mention);
        Assert.Contains("type = 'python' and connect = { host = \"127.0.0.1\", port = 5680 }", mention);
    }
}
