using EncoderKit.Compute;
using EncoderKit.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Pretraining;

/// <summary>
/// Checkpoint averaging (the TohokuNLP recipe averages its 95,000- and 100,000-step checkpoints): the parameter-wise
/// weighted mean of several checkpoints of one model, accumulated in float64 and written in the checkpoints' dtype, so
/// averaging copies of one checkpoint gives it back bit for bit (K·x and K·x / K are exact in float64 for any float32,
/// bfloat16 or float16 x).
/// </summary>
public static class CheckpointAveraging
{
    /// <summary>
    /// Writes into <paramref name="output"/> the mean of the model.safetensors of <paramref name="checkpoints"/> (Hugging
    /// Face folders), weighted by <paramref name="weights"/> (uniform when null; each ≥ 0, normalised to sum 1), with config.json and
    /// the tokenizer files of the first. Optimizer and trainer states are not carried over.
    /// </summary>
    /// <exception cref="EncoderKitException">Fewer than one checkpoint, bad weights, or checkpoints whose tensor names, shapes or dtypes differ.</exception>
    public static void Average(IReadOnlyList<string> checkpoints, string output, IReadOnlyList<double>? weights = null)
    {
        if (checkpoints.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "no checkpoints to average", field: "checkpoints");
        weights ??= [.. checkpoints.Select(_ => 1.0)];
        if (weights.Count != checkpoints.Count)
            throw new EncoderKitException(ErrorKind.BadInput, $"{weights.Count} weights for {checkpoints.Count} checkpoints: give one weight per checkpoint", field: "weights");
        foreach (double weight in weights)
        {
            if (!(weight >= 0) || double.IsInfinity(weight))
                throw new EncoderKitException(ErrorKind.BadInput, $"weight {weight} is not a finite number ≥ 0", field: "weights");
        }
        double total = weights.Sum();
        if (!(total > 0)) throw new EncoderKitException(ErrorKind.BadInput, "the weights sum to 0: there is nothing to average", field: "weights");
        string[] paths = [.. checkpoints.Select(c => Directory.Exists(c) ? Path.Combine(c, CheckpointWeights.SingleFileName) : c)];
        var files = new List<SafetensorsFile>();
        try
        {
            foreach (string path in paths)
            {
                if (!File.Exists(path)) throw new EncoderKitException(ErrorKind.MissingFile, "no model.safetensors (a sharded checkpoint cannot be averaged yet)", path);
                files.Add(SafetensorsFile.Open(path));
            }
            SafetensorsFile first = files[0];
            foreach (SafetensorsFile other in files.Skip(1)) CheckSameLayout(first, other);
            Directory.CreateDirectory(output);
            var averaged = new List<TensorData>();
            foreach (var info in first.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                using var scope = NewDisposeScope();
                Tensor sum = zeros(info.Shape, ScalarType.Float64);
                for (int k = 0; k < files.Count; k++)
                {
                    using Scalar weight = weights[k].ToScalar();
                    sum.add_(TorchTensors.Read(files[k], info.Name).to_type(ScalarType.Float64), alpha: weight);
                }
                using Scalar weightSum = total.ToScalar();
                Tensor mean = sum.div(weightSum).to_type(TorchTensors.ToScalarType(info.Dtype));
                var (dtype, shape, data) = TorchTensors.ToStored(mean);
                averaged.Add(new TensorData(info.Name, dtype, shape, data));
            }
            SafetensorsWriter.Write(Path.Combine(output, CheckpointWeights.SingleFileName), averaged, first.Metadata);
        }
        finally
        {
            foreach (SafetensorsFile file in files) file.Dispose();
        }
        string source = Path.GetDirectoryName(Path.GetFullPath(paths[0]))!;
        foreach (string file in Directory.GetFiles(source).Where(f => CarriedOver(Path.GetFileName(f))))
            AtomicFile.Write(Path.Combine(output, Path.GetFileName(file)), stream =>
            {
                using FileStream read = File.OpenRead(file);
                read.CopyTo(stream);
            });
    }

    // The model's description and its tokenizer; not weights (averaged above), optimizer or trainer states.
    static bool CarriedOver(string name) =>
        !name.StartsWith('.') && !name.EndsWith(".safetensors", StringComparison.Ordinal) && !name.EndsWith(".bin", StringComparison.Ordinal)
        && !name.EndsWith(".jsonl", StringComparison.Ordinal) && name != "pretrain_state.json";

    static void CheckSameLayout(SafetensorsFile first, SafetensorsFile other)
    {
        var expected = first.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var info in other.Tensors)
        {
            if (!expected.Remove(info.Name, out var want))
                throw new EncoderKitException(ErrorKind.BadCheckpoint, $"not in {first.Path}: checkpoints of different models", other.Path, info.Name);
            if (!want.Shape.SequenceEqual(info.Shape) || want.Dtype != info.Dtype)
                throw new EncoderKitException(ErrorKind.BadCheckpoint,
                    $"{info.Dtype} [{string.Join(", ", info.Shape)}], but {want.Dtype} [{string.Join(", ", want.Shape)}] in {first.Path}", other.Path, info.Name);
        }
        if (expected.Count > 0)
            throw new EncoderKitException(ErrorKind.BadCheckpoint, $"missing here but in {first.Path}: checkpoints of different models", other.Path, expected.Keys.First());
    }
}
