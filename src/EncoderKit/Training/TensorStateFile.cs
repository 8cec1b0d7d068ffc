using EncoderKit.Compute;
using EncoderKit.IO;
using static TorchSharp.torch;

namespace EncoderKit.Training;

/// <summary>Named state tensors (optimizer moments, generator states, the step) as one safetensors file.</summary>
public static class TensorStateFile
{
    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> atomically: a crash leaves the old file or the new one.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors) =>
        SafetensorsWriter.Write(path, tensors.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t =>
        {
            var (dtype, shape, data) = TorchTensors.ToStored(t.Value);
            return new TensorData(t.Key, dtype, shape, data);
        }));

    /// <summary>Every tensor of the file at <paramref name="path"/>, as CPU tensors the caller disposes.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path)) throw new EncoderKitException(ErrorKind.MissingFile, "state file not found", path);
        using SafetensorsFile file = SafetensorsFile.Open(path);
        return file.Tensors.ToDictionary(t => t.Name, t => TorchTensors.Read(file, t.Name), StringComparer.Ordinal);
    }
}
