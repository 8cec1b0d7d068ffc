using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// Reads a fixture's gradients.safetensors. Tolerance as its meta.json suggests: 1e-4 × max|reference gradient of
/// that tensor| + 1e-6 absolute (see GradientTests for why that separates a right gradient from a wrong one).
/// </summary>
static class ReferenceGradients
{
    /// <summary>The checkpoint tensor names the reference stores a gradient for, fully or by rows.</summary>
    public static IEnumerable<string> StoredNames(SafetensorsFile grads) => grads.Tensors.Select(t => t.Name)
        .Select(n => n.StartsWith("grad.", StringComparison.Ordinal) ? n["grad.".Length..] : n.StartsWith("gradrows.", StringComparison.Ordinal) ? n["gradrows.".Length..] : null)
        .OfType<string>();

    public static void Compare(SafetensorsFile grads, JsonObject reference, string name, Tensor ours)
    {
        if (grads.TryGet("grad." + name, out _))
        {
            Tensor expected = TorchTensors.Read(grads, "grad." + name);
            TensorAssert.Close(ours, expected, 1e-4 * expected.abs().max().item<float>() + 1e-6, what: name);
            return;
        }
        // Large tensors keep some rows (and, optionally, every row's norm; or, when row-sparse, every non-zero row).
        JsonObject compact = reference["compact_storage"]?[name]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"the reference has no gradient for {name}");
        double tolerance = 1e-4 * compact["max_abs"]!.GetValue<double>() + 1e-6;
        Tensor index = TorchTensors.Read(grads, "gradrows_index." + name);
        TensorAssert.Close(ours.index_select(0, index), TorchTensors.Read(grads, "gradrows." + name), tolerance, what: name + " (stored rows)");
        if (grads.TryGet("gradrownorm." + name, out _))
            TensorAssert.Close(ours.norm(1), TorchTensors.Read(grads, "gradrownorm." + name), tolerance * Math.Sqrt(ours.shape[1]), what: name + " (row norms)");
        if (compact["row_sparse"]?.GetValue<bool>() == true)
        {
            using Scalar zero = 0.ToScalar();
            TensorAssert.Close(ours.index_fill(0, index, zero), zeros_like(ours), tolerance, what: name + " (rows the reference has as zero)");
        }
    }
}
