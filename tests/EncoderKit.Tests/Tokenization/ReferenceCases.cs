using System.Text.Json;
using EncoderKit.Tokenization;

namespace EncoderKit.Tests.Tokenization;

/// <summary>One line of a reference cases.jsonl (made by the Python/Rust reference; offsets in code points).</summary>
public sealed record ReferenceCase(
    string Id, string Text, string? TextPair, int[] Ids, string[] Tokens, (int Start, int End)[] Offsets, int[] TypeIds,
    int[] SpecialTokensMask, int? MaxLength, string? Strategy, string? Direction, int[]? IdsNoSpecial, string? Decoded,
    bool HfDivergenceExpected)
{
    public static IReadOnlyList<ReferenceCase> Load(string family)
    {
        var path = Path.Combine(ReferenceData.Tokenizer(family), "cases.jsonl");
        var result = new List<ReferenceCase>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var e = JsonDocument.Parse(line).RootElement;
            int[]? Ints(string name) => e.TryGetProperty(name, out var v) ? v.EnumerateArray().Select(x => x.GetInt32()).ToArray() : null;
            JsonElement t = default;
            bool truncated = e.TryGetProperty("truncation", out t);
            result.Add(new ReferenceCase(
                e.GetProperty("id").GetString()!,
                e.GetProperty("text").GetString()!,
                e.TryGetProperty("text_pair", out var p) ? p.GetString() : null,
                Ints("ids")!,
                e.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()!).ToArray(),
                e.GetProperty("offsets").EnumerateArray().Select(o => (o[0].GetInt32(), o[1].GetInt32())).ToArray(),
                Ints("token_type_ids")!,
                Ints("special_tokens_mask")!,
                truncated ? t.GetProperty("max_length").GetInt32() : null,
                truncated ? t.GetProperty("strategy").GetString() : null,
                truncated && t.TryGetProperty("direction", out var d) ? d.GetString() : null,
                Ints("ids_no_special"),
                e.TryGetProperty("decoded", out var dec) ? dec.GetString() : null,
                e.TryGetProperty("hf_divergence_expected", out var h) && h.GetBoolean()));
        }
        return result;
    }

    public EncodeOptions Options => MaxLength is int max
        ? new EncodeOptions
        {
            MaxLength = max,
            Truncation = Strategy switch
            {
                "only_first" => TruncationStrategy.OnlyFirst,
                "only_second" => TruncationStrategy.OnlySecond,
                _ => TruncationStrategy.LongestFirst,
            },
            TruncationSide = Direction == "left" ? TruncationSide.Left : TruncationSide.Right,
        }
        : EncodeOptions.Default;

    /// <summary>Converts a code-point offset into <paramref name="s"/> to a UTF-16 index.</summary>
    public static int Utf16Index(string s, int codePoints)
    {
        int i = 0;
        for (int cp = 0; cp < codePoints && i < s.Length; cp++)
            i += char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
        return i;
    }

    /// <summary>Compares <paramref name="got"/> with this case; returns the differences (empty when equal).</summary>
    public string Compare(Encoding got)
    {
        var problems = new List<string>();
        if (!got.Ids.SequenceEqual(Ids)) problems.Add($"ids [{string.Join(",", got.Ids)}] expected [{string.Join(",", Ids)}]");
        if (!got.Tokens.SequenceEqual(Tokens)) problems.Add($"tokens [{string.Join(" ", got.Tokens)}] expected [{string.Join(" ", Tokens)}]");
        if (!got.TypeIds.SequenceEqual(TypeIds)) problems.Add($"type ids [{string.Join(",", got.TypeIds)}] expected [{string.Join(",", TypeIds)}]");
        if (!got.SpecialTokensMask.SequenceEqual(SpecialTokensMask)) problems.Add("special tokens mask differs");
        var seq = got.SequenceIds;
        var expected = Offsets.Select((o, i) =>
        {
            string source = seq.Length > i && seq[i] == 1 ? TextPair! : Text;
            return (Utf16Index(source, o.Start), Utf16Index(source, o.End));
        }).ToArray();
        if (!got.Offsets.SequenceEqual(expected))
            problems.Add($"offsets [{string.Join(" ", got.Offsets)}] expected [{string.Join(" ", expected)}]");
        return problems.Count == 0 ? "" : $"{Id} {JsonSerializer.Serialize(Text)}: {string.Join("; ", problems)}";
    }
}
