using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EncoderKit.Tests.Fuzz;

/// <summary>
/// Seeded mutations of a valid file: byte-level (flips, junk, cuts, repeats, splices of tokens that upset parsers)
/// and, for JSON, structural (a value swapped for a boundary or wrong-typed one, a key dropped or repeated), so
/// mutants reach the checks behind the parser and not only the parser.
/// </summary>
public static class Mutator
{
    static readonly string[] JsonTokens =
    [
        "NaN", "Infinity", "-Infinity", "-1", "0", "1e400", "99999999999", "-2147483649", "2.5", "null", "true", "\"\"", "[]", "{}",
        "\"\\ud800\"", "\"\\u0000\"", ",", ":", "\"", "{", "}", "[", "]", "\\", "\\u", "01", "1e", "-", "/*", "\t", "\n",
    ];

    static readonly byte[][] RawBytes = [[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xEF, 0xBB, 0xBF], [0x00], [0xC0, 0xAF]];

    /// <summary>Replacement values for a JSON node; the NaN family is written by <see cref="WriteJson"/>.</summary>
    static readonly Func<Random, JsonNode?>[] Values =
    [
        _ => 0, _ => -1, _ => 1, _ => 2, _ => int.MaxValue, _ => (long)int.MaxValue + 1, _ => 99999999999L, _ => long.MinValue,
        _ => 2.5, _ => -0.5, _ => 1e300, _ => null, _ => true, _ => "", _ => "x", _ => "\u2581", _ => "[UNK]", _ => "a b",
        r => new string('a', r.Next(1000, 20000)), _ => new JsonArray(), _ => new JsonObject(), _ => new JsonArray(-1, 0),
        _ => new JsonArray("", ""), _ => new JsonObject { [""] = -1 }, _ => new JsonArray(new JsonArray("a", "")),
        _ => NanMarker, _ => InfinityMarker,
    ];

    const string NanMarker = "\u0001NaN\u0001", InfinityMarker = "\u0001-Infinity\u0001";

    /// <summary>One mutant of <paramref name="seed"/>; JSON seeds mostly get a structural mutation, so they still parse.</summary>
    public static byte[] Mutate(byte[] seed, Random rng, bool json)
    {
        byte[] data = json && rng.Next(4) != 0 ? MutateJson(seed, rng) : seed;
        int rounds = data != seed ? (rng.Next(4) == 0 ? 1 : 0) : rng.Next(1, 5);
        for (int i = 0; i < rounds; i++) data = MutateBytes(data, rng, json);
        return data;
    }

    public static byte[] MutateBytes(byte[] data, Random rng, bool json)
    {
        var list = new List<byte>(data);
        int Pos() => list.Count == 0 ? 0 : rng.Next(list.Count + 1);
        switch (rng.Next(json ? 9 : 7))
        {
            case 0 when list.Count > 0: { int p = rng.Next(list.Count); list[p] ^= (byte)(1 << rng.Next(8)); break; }
            case 1 when list.Count > 0: list[rng.Next(list.Count)] = (byte)rng.Next(256); break;
            case 2 when list.Count > 0: { int p = rng.Next(list.Count); list.RemoveRange(p, Math.Min(list.Count - p, rng.Next(1, 64))); break; }
            case 3 when list.Count > 0: { int p = rng.Next(list.Count), n = Math.Min(list.Count - p, rng.Next(1, 256)); list.InsertRange(Pos(), list.GetRange(p, n)); break; }
            case 4: { int keep = rng.Next(list.Count + 1); list.RemoveRange(keep, list.Count - keep); break; }   // truncated file
            case 5: list.InsertRange(Pos(), RawBytes[rng.Next(RawBytes.Length)]); break;
            case 6: list.InsertRange(Pos(), Enumerable.Range(0, rng.Next(1, 16)).Select(_ => (byte)rng.Next(256))); break;
            case 7: list.InsertRange(Pos(), Encoding.UTF8.GetBytes(JsonTokens[rng.Next(JsonTokens.Length)])); break;
            default: // replace a number in the text with a boundary number
            {
                int p = list.FindIndex(rng.Next(Math.Max(1, list.Count)), b => b is >= (byte)'0' and <= (byte)'9');
                if (p < 0) break;
                int end = p;
                while (end < list.Count && list[end] is >= (byte)'0' and <= (byte)'9' or (byte)'.' or (byte)'e' or (byte)'-') end++;
                list.RemoveRange(p, end - p);
                list.InsertRange(p, Encoding.UTF8.GetBytes(new[] { "0", "-1", "99999999999", "1e400", "NaN", "2147483648", "-0", "65536" }[rng.Next(8)]));
                break;
            }
        }
        return list.ToArray();
    }

    static byte[] MutateJson(byte[] seed, Random rng)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(seed); }
        catch (JsonException) { return seed; }
        if (root is null) return seed;
        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        int edits = rng.Next(1, 4);
        for (int i = 0; i < edits; i++)
        {
            JsonNode target = nodes[rng.Next(nodes.Count)];
            if (target.Parent is not { } parent) continue;
            switch (rng.Next(5))
            {
                case 0 when parent is JsonObject o:   // drop the key
                    o.Remove(target.GetPropertyName());
                    break;
                case 1 when parent is JsonArray a:   // drop or repeat an item
                    int index = target.GetElementIndex();
                    if (rng.Next(2) == 0) a.RemoveAt(index);
                    else a.Insert(index, target.DeepClone());
                    break;
                default:
                    Replace(target, Values[rng.Next(Values.Length)](rng));
                    break;
            }
        }
        return WriteJson(root);
    }

    static void Replace(JsonNode target, JsonNode? value)
    {
        switch (target.Parent)
        {
            case JsonObject o: o[target.GetPropertyName()] = value; break;
            case JsonArray a: a[target.GetElementIndex()] = value; break;
        }
    }

    static void Collect(JsonNode node, List<JsonNode> into)
    {
        // Huge vocabularies would drown the rest: sample at most 64 children of any container.
        into.Add(node);
        IEnumerable<JsonNode?> children = node switch
        {
            JsonObject o => o.Select(p => p.Value),
            JsonArray a => a,
            _ => [],
        };
        foreach (JsonNode? child in children.Take(64))
            if (child is not null) Collect(child, into);
    }

    /// <summary>Serializes <paramref name="root"/>, turning the NaN markers into the literals Python writes.</summary>
    static byte[] WriteJson(JsonNode root)
    {
        string text = root.ToJsonString();
        text = text.Replace("\"\\u0001NaN\\u0001\"", "NaN").Replace("\"\\u0001-Infinity\\u0001\"", "-Infinity");
        return Encoding.UTF8.GetBytes(text);
    }
}
