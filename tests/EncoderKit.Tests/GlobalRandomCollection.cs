namespace EncoderKit.Tests;

/// <summary>
/// Tests that seed or read libtorch's process-wide generator run alone: another test drawing dropout masks at the same
/// time would take numbers from the middle of their sequence.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRandomCollection
{
    public const string Name = "libtorch's global generator";
}
