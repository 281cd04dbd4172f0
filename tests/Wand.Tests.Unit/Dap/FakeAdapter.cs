using System.Text.Json.Nodes;
using Wand.Session.Dap;
using Xunit;

namespace Wand.Tests.Unit.Dap;

/// <summary>A scripted debug adapter on the far end of an in-memory connection: tests read what the client sent and answer by hand.</summary>
internal sealed class FakeAdapter : IAsyncDisposable
{
    private readonly DuplexPipeStream _stream;
    private int _seq = 1000;

    private FakeAdapter(DuplexPipeStream stream) => _stream = stream;

    public static (DapClient Client, FakeAdapter Adapter) Connect()
    {
        var (client, adapter) = DuplexPipeStream.CreatePair();
        return (new DapClient(client), new FakeAdapter(adapter));
    }

    /// <summary>The next message the client sent.</summary>
    public async Task<JsonObject> ReadAsync() =>
        await TryReadAsync() ?? throw new InvalidOperationException("the client closed the connection");

    /// <summary>The next message the client sent, or null once the client has closed the connection.</summary>
    public Task<JsonObject?> TryReadAsync() => DapFraming.ReadAsync(_stream);

    /// <summary>The next message, which must be a request for <paramref name="command"/>.</summary>
    public async Task<JsonObject> ExpectRequestAsync(string command)
    {
        var request = await ReadAsync();
        Assert.Equal("request", (string?)request["type"]);
        Assert.Equal(command, (string?)request["command"]);
        return request;
    }

    public Task SendAsync(JsonObject message) => DapFraming.WriteAsync(_stream, message);

    public Task RespondAsync(JsonObject request, JsonObject? body = null, bool success = true, string? message = null)
    {
        var response = new JsonObject
        {
            ["seq"] = _seq++,
            ["type"] = "response",
            ["request_seq"] = (int)request["seq"]!,
            ["success"] = success,
            ["command"] = (string?)request["command"],
        };
        if (message is not null) response["message"] = message;
        if (body is not null) response["body"] = body;
        return SendAsync(response);
    }

    public Task SendEventAsync(string name, JsonObject? body = null)
    {
        var message = new JsonObject { ["seq"] = _seq++, ["type"] = "event", ["event"] = name };
        if (body is not null) message["body"] = body;
        return SendAsync(message);
    }

    public Task SendReverseRequestAsync(int seq, string command, JsonObject? arguments = null) =>
        SendAsync(new JsonObject { ["seq"] = seq, ["type"] = "request", ["command"] = command, ["arguments"] = arguments ?? [] });

    public Task SendRawAsync(string bytes) => _stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(bytes)).AsTask();

    /// <summary>Closes the adapter's side: the client reads end of stream.</summary>
    public Task CloseAsync() => _stream.CloseWriteAsync();

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        return ValueTask.CompletedTask;
    }
}
