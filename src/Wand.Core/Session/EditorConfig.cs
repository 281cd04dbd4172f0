using System.Text.Json;
using System.Text.Json.Nodes;

namespace Wand.Session;

/// <summary>Ready-to-paste editor configurations for attaching to a debugpy endpoint.</summary>
public static class EditorConfig
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>One entry for the "configurations" array of VS Code's launch.json.</summary>
    public static JsonObject VsCodeConfiguration(string name, string host, int port, string localRoot, string remoteRoot) => new()
    {
        ["name"] = name,
        ["type"] = "debugpy",
        ["request"] = "attach",
        ["connect"] = new JsonObject { ["host"] = host, ["port"] = port },
        ["pathMappings"] = new JsonArray(new JsonObject { ["localRoot"] = localRoot, ["remoteRoot"] = remoteRoot }),
        ["justMyCode"] = true,
    };

    public static string VsCodeJson(string name, string host, int port, string localRoot, string remoteRoot) =>
        VsCodeConfiguration(name, host, port, localRoot, remoteRoot).ToJsonString(Indented);

    /// <summary>A Lua snippet that adds the same configuration to nvim-dap.</summary>
    public static string NvimDap(string name, string host, int port, string? localRoot, string remoteRoot) =>
        $$"""
        table.insert(require('dap').configurations.python, {
          type = 'python', request = 'attach', name = {{Lua(name)}},
          connect = { host = {{Lua(host)}}, port = {{port}} },
          pathMappings = { { localRoot = {{(localRoot is null ? "vim.fn.getcwd()" : Lua(localRoot))}}, remoteRoot = {{Lua(remoteRoot)}} } },
        })
        """;

    /// <summary>A double-quoted Lua string literal.</summary>
    private static string Lua(string value) =>
        "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", "\\r") + "\"";
}
