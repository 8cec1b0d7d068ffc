using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace EncoderKit.IO;

/// <summary>
/// The weights of a Hugging Face model folder: <c>model.safetensors</c>, or the shards named by
/// <c>model.safetensors.index.json</c>, seen as one set of named tensors. Owns and disposes the files.
/// </summary>
/// <remarks>
/// Like transformers, a single <c>model.safetensors</c> wins over an index when both exist. A sharded
/// checkpoint must agree with its index both ways: every tensor the index lists is in the shard it names,
/// and every tensor a shard holds is listed for that shard. Each shard is opened (mapped) once.
/// </remarks>
public sealed class CheckpointWeights : ITensorSource
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = ShardIndex.FileName;

    readonly Dictionary<string, SafetensorsFile> fileOf;

    CheckpointWeights(string folder, IReadOnlyList<SafetensorsFile> files, IReadOnlyDictionary<string, JsonElement>? indexMetadata)
    {
        Folder = folder;
        Files = files;
        IndexMetadata = indexMetadata;
        Tensors = files.SelectMany(f => f.Tensors).ToArray();
        fileOf = files.SelectMany(f => f.Tensors.Select(t => (t.Name, File: f))).ToDictionary(p => p.Name, p => p.File, StringComparer.Ordinal);
    }

    public string Folder { get; }

    /// <summary>The safetensors files read: the single file, or the shards in file-name order.</summary>
    public IReadOnlyList<SafetensorsFile> Files { get; }

    /// <summary>The index's "metadata" object (transformers writes "total_size"), or null without an index.</summary>
    public IReadOnlyDictionary<string, JsonElement>? IndexMetadata { get; }

    /// <summary>All tensors, shard by shard, each in file order.</summary>
    public IReadOnlyCollection<TensorInfo> Tensors { get; }

    public static CheckpointWeights Open(string folder)
    {
        if (!Directory.Exists(folder))
            throw new EncoderKitException(ErrorKind.MissingFile, "model folder does not exist", file: folder);

        // Path.Exists: something there that is not a readable file (a folder, a link loop) is reported as what it is.
        string single = Path.Combine(folder, SingleFileName);
        if (Path.Exists(single)) return new CheckpointWeights(folder, [SafetensorsFile.Open(single)], indexMetadata: null);

        string index = Path.Combine(folder, IndexFileName);
        if (Path.Exists(index)) return OpenSharded(folder, index);

        throw NoWeights(folder);
    }

    public bool TryGet(string name, [NotNullWhen(true)] out TensorInfo? info)
    {
        info = null;
        return fileOf.TryGetValue(name, out SafetensorsFile? file) && file.TryGet(name, out info);
    }

    public ReadOnlySpan<byte> Bytes(string name) => FileOf(name).Bytes(name);

    public ReadOnlySpan<byte> Bytes(string name, long offset, int count) => FileOf(name).Bytes(name, offset, count);

    public void Dispose()
    {
        foreach (SafetensorsFile file in Files) file.Dispose();
    }

    static CheckpointWeights OpenSharded(string folder, string indexPath)
    {
        ShardIndex index = ShardIndex.Read(indexPath);
        var shards = new SortedDictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (string shard in index.WeightMap.Values.Distinct())
                shards.Add(shard, SafetensorsFile.Open(ShardPath(folder, shard, indexPath)));
            CheckAgreement(index, shards);
            return new CheckpointWeights(folder, shards.Values.ToArray(), index.Metadata);
        }
        catch
        {
            foreach (SafetensorsFile file in shards.Values) file.Dispose();
            throw;
        }
    }

    static string ShardPath(string folder, string shard, string indexPath)
    {
        string root = Path.GetFullPath(folder);
        string path = Path.GetFullPath(Path.Combine(root, shard));
        if (Path.GetDirectoryName(path) != Path.TrimEndingDirectorySeparator(root))
            throw new EncoderKitException(ErrorKind.BadCheckpoint, $"shard \"{shard}\" is not a file name in the model folder", file: indexPath, field: "weight_map");
        if (!File.Exists(path))
            throw new EncoderKitException(ErrorKind.MissingFile, $"shard listed in {IndexFileName} does not exist", file: path);
        return path;
    }

    static void CheckAgreement(ShardIndex index, SortedDictionary<string, SafetensorsFile> shards)
    {
        foreach ((string shard, SafetensorsFile file) in shards)
        {
            foreach (TensorInfo tensor in file.Tensors)
            {
                if (!index.WeightMap.TryGetValue(tensor.Name, out string? listed))
                    throw new EncoderKitException(ErrorKind.BadCheckpoint, $"stored in this shard, but {IndexFileName} does not list it", file: file.Path, field: tensor.Name);
                if (listed != shard)
                    throw new EncoderKitException(ErrorKind.BadCheckpoint, $"stored in this shard, but {IndexFileName} maps it to {listed}", file: file.Path, field: tensor.Name);
            }
        }
        foreach ((string name, string shard) in index.WeightMap)
        {
            SafetensorsFile file = shards[shard];
            if (!file.TryGet(name, out _))
                throw new EncoderKitException(ErrorKind.BadCheckpoint, $"{IndexFileName} lists it in this shard, but the shard does not hold it", file: file.Path, field: name);
        }
    }

    // Pickle (.bin) weights are deliberately not a fallback: unpickling can run code, so they are only ever
    // read by a dedicated restricted reader, chosen here once it exists.
    static EncoderKitException NoWeights(string folder)
    {
        string[] pickles = Directory.EnumerateFiles(folder)
            .Select(f => Path.GetFileName(f))
            .Where(f => f.EndsWith(".bin", StringComparison.Ordinal) || f.EndsWith(".bin.index.json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
        string lookedFor = $"no {SingleFileName} or {IndexFileName}";
        return pickles.Length == 0
            ? new EncoderKitException(ErrorKind.MissingFile, $"{lookedFor}: the folder holds no model weights", file: folder)
            : new EncoderKitException(ErrorKind.MissingFile,
                $"{lookedFor}; found only PyTorch pickle weights ({string.Join(", ", pickles)}), which are not loaded by default", file: folder);
    }

    SafetensorsFile FileOf(string name) =>
        fileOf.TryGetValue(name, out SafetensorsFile? file) ? file
            : throw new EncoderKitException(ErrorKind.BadCheckpoint, "no tensor of this name in the checkpoint", file: Folder, field: name);
}
