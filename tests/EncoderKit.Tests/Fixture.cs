using EncoderKit.Compute;
using EncoderKit.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Tests;

/// <summary>One reference model folder: its inputs and the outputs the reference implementation computed.</summary>
public sealed class Fixture : IDisposable
{
    readonly SafetensorsFile inputs, expected;

    public Fixture(string name)
    {
        Name = name;
        Folder = ReferenceData.Model(name);
        inputs = SafetensorsFile.Open(Path.Combine(Folder, "inputs.safetensors"));
        expected = SafetensorsFile.Open(Path.Combine(Folder, "expected.safetensors"));
    }

    public string Name { get; }
    public string Folder { get; }

    public Tensor InputIds => TorchTensors.Read(inputs, "input_ids");
    public Tensor AttentionMask => TorchTensors.Read(inputs, "attention_mask");
    public Tensor? TokenTypeIds => inputs.TryGet("token_type_ids", out _) ? TorchTensors.Read(inputs, "token_type_ids") : null;

    public bool HasExpected(string name) => expected.TryGet(name, out _);
    public Tensor Expected(string name) => TorchTensors.Read(expected, name);

    public void Dispose()
    {
        inputs.Dispose();
        expected.Dispose();
    }
}

public static class TensorAssert
{
    /// <summary>Max |actual - expected| over the positions where <paramref name="realPositions"/> ([B, L]) is 1, or everywhere.</summary>
    public static double MaxAbsDiff(Tensor actual, Tensor expected, Tensor? realPositions = null)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = NewDisposeScope();
        Tensor diff = (actual.to_type(ScalarType.Float64) - expected.to_type(ScalarType.Float64)).abs();
        if (realPositions is not null)
        {
            Tensor keep = realPositions.to_type(ScalarType.Bool);
            while (keep.dim() < diff.dim()) keep = keep.unsqueeze(-1);
            using Scalar zero = 0.0.ToScalar();
            diff = diff.masked_fill(keep.logical_not(), zero);
        }
        return diff.max().item<double>();
    }

    public static void Close(Tensor actual, Tensor expected, double tolerance, Tensor? realPositions = null, string what = "")
    {
        double worst = MaxAbsDiff(actual, expected, realPositions);
        Assert.True(worst <= tolerance, $"{what}: max abs difference {worst:E3} exceeds {tolerance:E1}");
    }
}
