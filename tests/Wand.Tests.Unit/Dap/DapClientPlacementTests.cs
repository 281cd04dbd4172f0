using Wand.Session.Dap;
using Xunit;

namespace Wand.Tests.Unit.Dap;

/// <summary>The DAP client is test support (tests/Wand.Testing.Dap): the product, and so the wand tool, does not carry it.</summary>
public class DapClientPlacementTests
{
    [Fact]
    public void TheProductHoldsOnlyTheFramingAndTheClientIsTestSupport()
    {
        var product = typeof(DapFraming).Assembly;
        Assert.Equal("Wand.Core", product.GetName().Name);
        Assert.Null(product.GetType("Wand.Session.Dap.DapClient"));
        Assert.Null(product.GetType("Wand.Session.Dap.DapSession"));
        Assert.Equal("Wand.Testing.Dap", typeof(DapClient).Assembly.GetName().Name);
    }
}
