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

    /// <summary>
    /// A Lua snippet that adds the same configuration to plain nvim-dap: wand's port (or debugpy's) speaks
    /// DAP over TCP, which nvim-dap reaches through an adapter of type 'server' (its host and port);
    /// configurations are kept per filetype, and nvim-dap alone has no 'python' list or adapter (those
    /// come from nvim-dap-python), so the snippet makes both. A closing comment gives the
    /// nvim-dap-python form.
    /// </summary>
    public static string NvimDap(string name, string host, int port, string? localRoot, string remoteRoot) =>
        $$"""
        local dap = require('dap')
        dap.adapters.wand = { type = 'server', host = {{Lua(host)}}, port = {{port}} }
        dap.configurations.python = dap.configurations.python or {}
        table.insert(dap.configurations.python, {
          type = 'wand', request = 'attach', name = {{Lua(name)}},
          pathMappings = { { localRoot = {{(localRoot is null ? "vim.fn.getcwd()" : Lua(localRoot))}}, remoteRoot = {{Lua(remoteRoot)}} } },
          justMyCode = true,
        })
        -- with nvim-dap-python instead: no adapter line; type = 'python' and connect = { host = {{Lua(host)}}, port = {{port}} }
        """;

    /// <summary>A double-quoted Lua string literal.</summary>
    private static string Lua(string value) =>
        "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", "\\r") + "\"";
}
