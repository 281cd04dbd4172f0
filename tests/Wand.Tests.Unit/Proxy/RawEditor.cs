using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wand.Session.Dap;

namespace Wand.Tests.Unit.Proxy;

/// <summary>An editor at the byte level: the test picks every sequence number and may send garbage.</summary>
internal sealed class RawEditor : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly BufferedStream _reader;

    private RawEditor(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _reader = new BufferedStream(_stream);
    }

    public static async Task<RawEditor> ConnectAsync(int port)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync("127.0.0.1", port);
        return new RawEditor(client);
    }

    public Task SendRequestAsync(int seq, string command, JsonObject? arguments = null)
    {
        var request = new JsonObject { ["seq"] = seq, ["type"] = "request", ["command"] = command };
        if (arguments is not null) request["arguments"] = arguments;
        return DapFraming.WriteAsync(_stream, request);
    }

    public Task SendRawAsync(string text) => _stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text)).AsTask();

    /// <summary>The next message, or null when the proxy closed the connection.</summary>
    public async Task<JsonObject?> ReadAsync()
    {
        try
        {
            return await DapFraming.ReadAsync(_reader).WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Reads until the response to <paramref name="requestSeq"/>, returning it and what came before.</summary>
    public async Task<(JsonObject Response, List<JsonObject> Before)> ReadResponseAsync(int requestSeq)
    {
        var before = new List<JsonObject>();
        while (await ReadAsync() is { } message)
        {
            if ((string?)message["type"] == "response" && (int?)message["request_seq"] == requestSeq) return (message, before);
            before.Add(message);
        }
        throw new InvalidOperationException($"the connection closed before the response to {requestSeq}; got {string.Join(", ", before.Select(b => b.ToJsonString()))}");
    }

    /// <summary>Reads until the proxy closes the connection; returns what came.</summary>
    public async Task<List<JsonObject>> ReadToEndAsync()
    {
        var all = new List<JsonObject>();
        try
        {
            while (await ReadAsync() is { } message) all.Add(message);
        }
        catch (DapProtocolException)
        {
        }
        return all;
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
