using EncoderKit.Compute;
using EncoderKit.IO;
using static TorchSharp.torch;

namespace EncoderKit.Modeling;

/// <summary>
/// Parameters read from a checkpoint through a family's weight map, each copied once from the mapped file into
/// native memory (16-bit weights go to a 16-bit tensor first, so a bf16 checkpoint never has a full fp32 copy
/// on the way unless fp32 is the compute dtype). Collects every missing tensor before failing, so the error
/// lists them all.
/// </summary>
public sealed class CheckpointParameters(ITensorSource weights, WeightMap map, string prefixInUse, ScalarType dtype, Device device) : IParameterSource
{
    readonly HashSet<string> used = new(StringComparer.Ordinal);
    readonly List<string> missing = [];

    public ScalarType Dtype => dtype;
    public Device Device => device;

    public Tensor Take(string name, long[] shape, Init init)
    {
        string[] parts = map.ExternalNames(name, prefixInUse);
        var found = new List<TensorInfo>(parts.Length);
        foreach (string part in parts)
        {
            TensorInfo? info = Resolve(part);
            if (info is null) missing.Add(part);
            else found.Add(info);
        }
        if (found.Count < parts.Length) return zeros(shape, dtype);   // placeholder; Finish() reports what is missing
        CheckShapes(found, shape);

        ScalarType stored = TorchTensors.ToScalarType(found[0].Dtype);
        if (found.Any(f => f.Dtype != found[0].Dtype))
            throw new EncoderKitException(ErrorKind.BadCheckpoint, $"parts stored in different dtypes ({string.Join(", ", found.Select(f => f.Dtype))})", found[0].File, string.Join(" + ", parts));
        Tensor result = empty(shape, stored);
        long row = 0;
        foreach (TensorInfo part in found)
        {
            long rows = part.Shape.Length == 0 ? 1 : part.Shape[0];
            using Tensor slice = shape.Length == 0 ? result.alias() : result.narrow(0, row, rows);
            TorchTensors.CopyInto(slice, weights, part.Name);
            row += rows;
            used.Add(part.Name);
        }
        if (stored != dtype && IsFloating(stored)) result = Replace(result, result.to_type(dtype));
        if (device.type != TorchSharp.DeviceType.CPU) result = Replace(result, result.to(device));
        return result;
    }

    /// <summary>
    /// Throws if any mapped tensor was missing or the checkpoint holds tensors nothing asked for, listing both
    /// sides in one message: a layout that differs by a renamed module shows its old and new names together.
    /// </summary>
    public void Finish()
    {
        string file = weights.Tensors.FirstOrDefault()?.File ?? "checkpoint";
        var unexpected = weights.Tensors.Select(t => t.Name).Where(n => !used.Contains(n) && !map.IsIgnored(n)).Order(StringComparer.Ordinal).ToList();
        var problems = new List<string>(2);
        if (missing.Count > 0)
            problems.Add($"{missing.Count} tensor(s) the model needs are missing: {string.Join(", ", missing)}");
        if (unexpected.Count > 0)
            problems.Add($"{unexpected.Count} tensor(s) match nothing in the model: {string.Join(", ", unexpected)}");
        if (problems.Count > 0)
            throw new EncoderKitException(ErrorKind.BadCheckpoint,
                string.Join("; ", problems) + ", so its layout differs from what this family expects", file);
    }

    TensorInfo? Resolve(string name)
    {
        if (weights.TryGet(name, out var info)) return info;
        foreach (string legacy in map.LegacyNames(name))
            if (weights.TryGet(legacy, out info)) return info;
        return null;
    }

    static void CheckShapes(List<TensorInfo> parts, long[] expected)
    {
        bool ok = parts.Count == 1
            ? parts[0].Shape.SequenceEqual(expected)
            : expected.Length > 0 && parts.All(p => p.Shape.Length == expected.Length && p.Shape.Skip(1).SequenceEqual(expected.Skip(1)))
              && parts.Sum(p => p.Shape[0]) == expected[0];
        if (ok) return;
        TensorInfo first = parts[0];
        string got = string.Join(" + ", parts.Select(p => $"[{string.Join(", ", p.Shape)}]"));
        throw new EncoderKitException(ErrorKind.BadCheckpoint, $"shape {got}, expected [{string.Join(", ", expected)}]",
            first.File, string.Join(" + ", parts.Select(p => p.Name)));
    }

    static Tensor Replace(Tensor old, Tensor converted)
    {
        old.Dispose();
        return converted;
    }

    static bool IsFloating(ScalarType t) => t is ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16;
}
