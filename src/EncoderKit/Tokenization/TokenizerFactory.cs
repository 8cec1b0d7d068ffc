using EncoderKit.IO;
using EncoderKit.Tokenization.Decoders;
using EncoderKit.Tokenization.Models;
using EncoderKit.Tokenization.Normalizers;
using EncoderKit.Tokenization.PostProcessors;
using EncoderKit.Tokenization.PreTokenizers;

namespace EncoderKit.Tokenization;

public sealed partial class Tokenizer
{
    /// <summary>
    /// Loads a Hugging Face <c>tokenizer.json</c>. Special token names (mask, pad, cls, sep...) are taken from
    /// the file's special added tokens; use <see cref="FromFolder"/> to also read tokenizer_config.json.
    /// </summary>
    public static Tokenizer FromFile(string tokenizerJsonPath) => TokenizerJson.Load(tokenizerJsonPath, null);

    /// <summary>
    /// Loads a tokenizer folder as transformers' AutoTokenizer would: <c>tokenizer.json</c> when present, else a
    /// WordPiece <c>vocab.txt</c> (with tokenizer_config.json's do_lower_case, default true), else a SentencePiece
    /// <c>*.model</c>; tokenizer_config.json and special_tokens_map.json give the special tokens and model_max_length.
    /// </summary>
    public static Tokenizer FromFolder(string dir)
    {
        if (!Directory.Exists(dir)) throw new EncoderKitException(ErrorKind.MissingFile, "no such folder", dir);
        var config = TokenizerConfig.Read(dir);
        Tokenizer tokenizer = Load(dir, config);
        tokenizer.CleanUpTokenizationSpaces = config.CleanUpTokenizationSpaces ?? false;
        return tokenizer;
    }

    static Tokenizer Load(string dir, TokenizerConfig config)
    {
        string json = Path.Combine(dir, "tokenizer.json");
        if (File.Exists(json)) return TokenizerJson.Load(json, config.Specials);
        string vocab = Path.Combine(dir, "vocab.txt");
        if (File.Exists(vocab))
            return FromVocab(vocab, config.DoLowerCase ?? true, config.StripAccents, config.TokenizeChineseChars ?? true, config);
        string? model = FindSentencePieceModel(dir);
        if (model is not null) return FromSentencePiece(model, config);
        throw new EncoderKitException(ErrorKind.MissingFile, "no tokenizer.json, vocab.txt or SentencePiece .model file", dir);
    }

    static string? FindSentencePieceModel(string dir)
    {
        string preferred = Path.Combine(dir, "tokenizer.model");
        if (File.Exists(preferred)) return preferred;
        var models = Directory.GetFiles(dir, "*.model").Order(StringComparer.Ordinal).ToList();
        return models.Count > 0 ? models[0] : null;
    }

    /// <summary>
    /// A BERT WordPiece tokenizer from <c>vocab.txt</c>, built as transformers' BertTokenizerFast: BertNormalizer,
    /// BertPreTokenizer, WordPiece ("##", 100 chars a word), <c>[CLS] A [SEP] (B [SEP])</c>, and the special tokens
    /// ([PAD] [UNK] [CLS] [SEP] [MASK]) recognised in text.
    /// </summary>
    /// <param name="stripAccents">null: strip accents exactly when lowercasing (as BERT does).</param>
    public static Tokenizer FromVocab(string vocabTxtPath, bool lowercase, bool? stripAccents = null, bool tokenizeChineseChars = true) =>
        FromVocab(vocabTxtPath, lowercase, stripAccents, tokenizeChineseChars, null);

    static Tokenizer FromVocab(string path, bool lowercase, bool? stripAccents, bool chinese, TokenizerConfig? config)
    {
        var vocab = new Vocabulary(ReadVocabTxt(path));
        var c = config?.Specials ?? new SpecialTokenNames();
        var names = c with
        {
            Unk = c.Unk ?? "[UNK]", Sep = c.Sep ?? "[SEP]", Pad = c.Pad ?? "[PAD]", Cls = c.Cls ?? "[CLS]", Mask = c.Mask ?? "[MASK]",
        };
        int Require(string token, string role) => vocab[token] ?? throw new EncoderKitException(ErrorKind.BadTokenizer,
            $"the {role} token \"{token}\" is not in the vocabulary", path);
        int clsId = Require(names.Cls!, "CLS"), sepId = Require(names.Sep!, "SEP");
        var model = new WordPiece(vocab, names.Unk!, "##", 100, path);
        // BertTokenizerFast adds its special tokens (in this order) as special added tokens.
        var added = new List<AddedToken>();
        foreach (var token in new[] { names.Pad, names.Unk, names.Cls, names.Sep, names.Mask }
                     .Concat(config?.AllSpecialTokens ?? []).Distinct())
            if (token is not null && vocab[token] is int id && added.All(a => a.Content != token))
                added.Add(new AddedToken(id, token, Special: true));
        return new Tokenizer(new BertNormalizer(true, chinese, stripAccents, lowercase), new BertPreTokenizer(), model,
            BertProcessing.Create((names.Cls!, clsId), (names.Sep!, sepId)), new WordPieceDecoder("##", true), added, names);
    }

    internal static Dictionary<string, int> ReadVocabTxt(string path)
    {
        string[] lines = UserFile.Read(path, () => File.ReadAllLines(path));
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        int index = 0;
        foreach (string line in lines)
            map[line.TrimEnd('\r', '\n')] = index++;
        if (map.Count == 0) throw new EncoderKitException(ErrorKind.BadTokenizer, "the vocabulary is empty", path);
        return map;
    }

    /// <summary>
    /// A SentencePiece Unigram <c>.model</c>, tokenizing as the SentencePiece library does, with the BOS/EOS and
    /// special tokens of the tokenizer_config.json / special_tokens_map.json beside it (BOS is added when the config
    /// does not say otherwise, as transformers' Llama-style tokenizers do).
    /// </summary>
    public static Tokenizer FromSentencePiece(string modelPath)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(modelPath));
        return FromSentencePiece(modelPath, dir is null ? new TokenizerConfig() : TokenizerConfig.Read(dir));
    }

    static Tokenizer FromSentencePiece(string modelPath, TokenizerConfig config) => SentencePieceModel.Build(modelPath, config);
}
