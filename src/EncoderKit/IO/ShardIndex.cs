using System.Text.Json;

namespace EncoderKit.IO;

/// <summary>
/// A sharded checkpoint's index (model.safetensors.index.json): which shard file holds each tensor,
/// <c>{"metadata": {"total_size": ...}, "weight_map": {"tensor name": "model-00001-of-00002.safetensors"}}</c>.
/// </summary>
internal sealed record ShardIndex(IReadOnlyDictionary<string, string> WeightMap, IReadOnlyDictionary<string, JsonElement>? Metadata)
{
    public const string FileName = "model.safetensors.index.json";

    public static ShardIndex Read(string path)
    {
        // Checked as Python's json reads it first (with the position of any fault), so JsonDocument cannot fail on it.
        var document = JsonDocument.Parse(PythonJson.Validate(PythonJson.ReadFile(path), path, ErrorKind.BadCheckpoint));

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad("expected a JSON object", path);
            if (!root.TryGetProperty("weight_map", out JsonElement weightMap) || weightMap.ValueKind != JsonValueKind.Object)
                throw Bad("expected an object mapping tensor names to shard files", path, "weight_map");

            var map = new OrderedDictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty entry in weightMap.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String || entry.Value.GetString() is not { Length: > 0 } shard)
                    throw Bad($"weight_map entry is {entry.Value.GetRawText()}, expected a shard file name", path, entry.Name);
                if (!map.TryAdd(entry.Name, shard)) throw Bad("listed twice in weight_map", path, entry.Name);
            }

            Dictionary<string, JsonElement>? metadata = null;
            if (root.TryGetProperty("metadata", out JsonElement metadataElement))
            {
                if (metadataElement.ValueKind != JsonValueKind.Object) throw Bad("expected an object", path, "metadata");
                metadata = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (JsonProperty item in metadataElement.EnumerateObject())
                {
                    // Cloned so the value outlives the document.
                    if (!metadata.TryAdd(item.Name, item.Value.Clone())) throw Bad($"key \"{item.Name}\" appears twice", path, "metadata");
                }
            }
            return new ShardIndex(map, metadata);
        }
    }

    static EncoderKitException Bad(string problem, string path, string? field = null) =>
        new(ErrorKind.BadCheckpoint, problem, file: path, field: field);
}
