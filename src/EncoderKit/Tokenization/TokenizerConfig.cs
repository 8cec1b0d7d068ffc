using System.Text.Json;

namespace EncoderKit.Tokenization;

/// <summary>
/// What tokenizer_config.json and special_tokens_map.json say (the latter wins, as in transformers):
/// special token names, model_max_length, do_lower_case and friends, add_bos_token / add_eos_token.
/// </summary>
internal sealed record TokenizerConfig
{
    public SpecialTokenNames Specials { get; init; } = new();
    public bool? DoLowerCase { get; init; }
    public bool? StripAccents { get; init; }
    public bool? TokenizeChineseChars { get; init; }
    public bool? AddBosToken { get; init; }
    public bool? AddEosToken { get; init; }
    public bool? CleanUpTokenizationSpaces { get; init; }
    /// <summary>Entries of added_tokens_decoder (id → token), when the config lists them.</summary>
    public List<AddedToken> AddedTokens { get; init; } = new();
    /// <summary>Every special token named in the files (bos, eos, unk, sep, pad, cls, mask, additional_special_tokens...).</summary>
    public List<string> AllSpecialTokens { get; init; } = new();

    // Above this, model_max_length is transformers' "no limit" sentinel (int(1e30)) or otherwise meaningless.
    const double MaxSaneLength = 1 << 30;

    public static TokenizerConfig Read(string dir)
    {
        var config = new TokenizerConfig();
        string configPath = Path.Combine(dir, "tokenizer_config.json");
        string mapPath = Path.Combine(dir, "special_tokens_map.json");
        var names = new Dictionary<string, string>();
        var all = new List<string>();
        if (File.Exists(configPath))
        {
            using var doc = JsonAt.Load(configPath, ErrorKind.BadConfig);
            var root = new JsonAt(doc.RootElement, "", configPath);
            if (root.Value.ValueKind != JsonValueKind.Object) throw new EncoderKitException(ErrorKind.BadConfig, "expected a JSON object", configPath);
            ReadNames(root, names, all);
            int? maxLength = null;
            if (root.Optional("model_max_length") is JsonAt m && m.Value.ValueKind == JsonValueKind.Number)
            {
                double v = m.Double();
                if (v > 0 && v <= MaxSaneLength) maxLength = (int)v;
            }
            var added = new List<AddedToken>();
            if (root.Optional("added_tokens_decoder") is JsonAt dec && dec.Value.ValueKind == JsonValueKind.Object)
                foreach (var (idText, t) in dec.Properties())
                {
                    if (!int.TryParse(idText, out int id) || id is < 0 or >= JsonAt.TokenIdLimit) throw new EncoderKitException(ErrorKind.BadConfig, $"\"{idText}\" is not a token id", configPath, t.Path);
                    bool special = t.Bool("special", false);
                    added.Add(new AddedToken(id, t.Required("content").String(), special, t.Bool("single_word", false),
                        t.Bool("lstrip", false), t.Bool("rstrip", false), t.Bool("normalized", !special)));
                }
            config = config with
            {
                DoLowerCase = OptionalBool(root, "do_lower_case"),
                CleanUpTokenizationSpaces = OptionalBool(root, "clean_up_tokenization_spaces"),
                StripAccents = OptionalBool(root, "strip_accents"),
                TokenizeChineseChars = OptionalBool(root, "tokenize_chinese_chars"),
                AddBosToken = OptionalBool(root, "add_bos_token"),
                AddEosToken = OptionalBool(root, "add_eos_token"),
                AddedTokens = added,
                Specials = config.Specials with { ModelMaxLength = maxLength },
            };
        }
        if (File.Exists(mapPath))
        {
            using var doc = JsonAt.Load(mapPath, ErrorKind.BadConfig);
            var root = new JsonAt(doc.RootElement, "", mapPath);
            if (root.Value.ValueKind != JsonValueKind.Object) throw new EncoderKitException(ErrorKind.BadConfig, "expected a JSON object", mapPath);
            ReadNames(root, names, all);
        }
        return config with
        {
            AllSpecialTokens = all.Distinct().ToList(),
            Specials = config.Specials with
            {
                Mask = names.GetValueOrDefault("mask_token"),
                Pad = names.GetValueOrDefault("pad_token"),
                Cls = names.GetValueOrDefault("cls_token"),
                Sep = names.GetValueOrDefault("sep_token"),
                Unk = names.GetValueOrDefault("unk_token"),
                Bos = names.GetValueOrDefault("bos_token"),
                Eos = names.GetValueOrDefault("eos_token"),
            },
        };
    }

    static bool? OptionalBool(JsonAt root, string name) =>
        root.Optional(name) is JsonAt v && v.Value.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.Bool() : null;

    static void ReadNames(JsonAt root, Dictionary<string, string> names, List<string> all)
    {
        foreach (var (name, value) in root.Properties())
        {
            if (name == "additional_special_tokens" && value.Value.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in value.Items()) if (TokenContent(item) is string s) all.Add(s);
                continue;
            }
            if (!name.EndsWith("_token", StringComparison.Ordinal)) continue;
            if (TokenContent(value) is string content) { names[name] = content; all.Add(content); }
        }
    }

    /// <summary>A special token is written as a string or as {"content": ...}.</summary>
    static string? TokenContent(JsonAt v) => v.Value.ValueKind switch
    {
        JsonValueKind.String => v.String(),
        JsonValueKind.Object when v.Value.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
        _ => null,
    };
}

/// <summary>Fills in special token names the config files did not give, from the tokenizer itself.</summary>
internal static class SpecialTokenGuess
{
    public static SpecialTokenNames Complete(SpecialTokenNames s, IReadOnlyList<AddedToken> added, Models.ITokenizerModel model,
        PostProcessors.IPostProcessor? post)
    {
        var specials = added.Where(t => t.Special).Select(t => t.Content).ToHashSet(StringComparer.Ordinal);
        string? Pick(string? configured, params string[] candidates) =>
            configured ?? candidates.FirstOrDefault(specials.Contains);
        string? unk = s.Unk ?? model switch
        {
            Models.WordPiece w => w.UnkToken,
            Models.Bpe b => b.UnkToken,
            Models.Unigram u when u.UnkId is int id => u.IdToToken(id),
            _ => null,
        };
        return s with
        {
            Unk = unk,
            Mask = Pick(s.Mask, "[MASK]", "<mask>", "<MASK>"),
            Pad = Pick(s.Pad, "[PAD]", "<pad>", "<|padding|>", "<PAD>"),
            Cls = Pick(s.Cls, "[CLS]", "<cls>", "<s>", "<CLS>"),
            Sep = Pick(s.Sep, "[SEP]", "<sep>", "</s>", "<SEP>"),
            Bos = Pick(s.Bos, "<s>", "<bos>", "<BOS>"),
            Eos = Pick(s.Eos, "</s>", "<eos>", "<EOS>"),
        };
    }
}
