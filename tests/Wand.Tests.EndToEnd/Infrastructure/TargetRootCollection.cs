using Xunit;

namespace Wand.Tests.EndToEnd.Infrastructure;

/// <summary>Tests that make wand write into the testbed rootfs run one at a time, so leftovers can be attributed.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TargetRootCollection
{
    public const string Name = "target root";
}
