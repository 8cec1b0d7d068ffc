using System.Security.Cryptography;

using System.Text.Json;
using System.Text.Json.Nodes;
using EncoderKit.IO;
using EncoderKit.Tokenization;

namespace EncoderKit.Pretraining;

/// <summary>One shard of a prepared corpus: its file stem (shard-00000) and what it holds.</summary>
public sealed record CorpusShard(string Name, long Documents, long Tokens);

/// <summary>
/// corpus.json, the manifest of a prepared corpus folder. The folder's format (version 2; version 1 is version 2 with
/// uint32 tokens always):
/// <list type="bullet">
/// <item><c>shard-NNNNN.ids</c>: the corpus's tokens, documents one after another, no special tokens, as little-endian
/// uint16 when the vocabulary fits in 15 bits (<see cref="TokenBytes"/> 2: bit 15 set where a token begins a word,
/// whole-word masking's unit, the id in the low 15 bits), else as uint32 (<see cref="TokenBytes"/> 4: bit 31 the word
/// start, the id in the low 31 bits).</item>
/// <item><c>shard-NNNNN.docs</c>: little-endian int64 token offsets into the .ids file, one per document plus the end.</item>
/// <item><c>corpus.json</c>: this manifest. Only the shards it lists count: a shard is renamed into place before the
/// manifest naming it is, so an interrupted preparation leaves no half shard counted, and it restarts after
/// <see cref="InputDocumentsDone"/>.</item>
/// </list>
/// </summary>
public sealed record CorpusManifest
{
    public const string FileName = "corpus.json", IdsExtension = ".ids", DocsExtension = ".docs";
    const string FormatName = "encoderkit-token-shards";

    /// <summary>Bit 31 of a token as <see cref="PreparedCorpus"/> gives it (whatever its width on disk): it begins a word.</summary>
    public const uint WordStartBit = 1u << 31;

    /// <summary>Bytes per token in the shards: 2 when every id fits in 15 bits (the 16th is the word start), else 4.</summary>
    public int TokenBytes { get; init; } = 4;

    /// <summary>The narrowest token width for ids below <paramref name="vocabSize"/>.</summary>
    public static int TokenBytesFor(int vocabSize) => vocabSize <= 1 << 15 ? 2 : 4;

    /// <summary>A token (id, <see cref="WordStartBit"/>) as a 2-byte shard stores it: the id in bits 0–14, the word start in bit 15.</summary>
    internal static ushort Narrow(uint token) => (ushort)((token & 0x7FFFu) | ((token & WordStartBit) >> 16));

    /// <summary>The inverse of <see cref="Narrow"/>.</summary>
    internal static uint Widen(ushort stored) => (stored & 0x7FFFu) | ((stored & 0x8000u) << 16);

    public required string Tokenizer { get; init; }
    public required int VocabSize { get; init; }

    /// <summary>SHA-256 of the vocabulary (every id's token, in id order): what <c>pretrain</c> checks its tokenizer against.</summary>
    public required string VocabSha256 { get; init; }

    public required WordSegmentation WordSegmentation { get; init; }
    public required DocumentFormat DocumentFormat { get; init; }
    public required IReadOnlyList<string> Inputs { get; init; }

    /// <summary>Input documents (empty ones included) whose tokens are in <see cref="Shards"/>.</summary>
    public long InputDocumentsDone { get; init; }

    public bool Complete { get; init; }
    public IReadOnlyList<CorpusShard> Shards { get; init; } = [];
    public long Documents => Shards.Sum(s => s.Documents);
    public long Tokens => Shards.Sum(s => s.Tokens);

    /// <summary>The vocabulary's fingerprint, as <see cref="VocabSha256"/> records it.</summary>
    public static string VocabularyHash(Tokenizer tokenizer)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int id = 0; id < tokenizer.VocabSize; id++)
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes((tokenizer.IdToToken(id) ?? "") + "\n"));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public void Write(string folder) => AtomicFile.Write(Path.Combine(folder, FileName), stream =>
    {
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteString("format", FormatName);
        writer.WriteNumber("version", 2);
        writer.WriteString("tokenizer", Tokenizer);
        writer.WriteNumber("vocab_size", VocabSize);
        writer.WriteString("vocab_sha256", VocabSha256);
        writer.WriteNumber("token_bytes", TokenBytes);
        writer.WriteString("word_segmentation", WordSegmentation.ToString().ToLowerInvariant());
        writer.WriteString("document_format", DocumentFormat.ToString().ToLowerInvariant());
        writer.WriteStartArray("inputs");
        foreach (string input in Inputs) writer.WriteStringValue(input);
        writer.WriteEndArray();
        writer.WriteNumber("input_documents_done", InputDocumentsDone);
        writer.WriteBoolean("complete", Complete);
        writer.WriteNumber("documents", Documents);
        writer.WriteNumber("tokens", Tokens);
        writer.WriteStartArray("shards");
        foreach (CorpusShard shard in Shards)
        {
            writer.WriteStartObject();
            writer.WriteString("name", shard.Name);
            writer.WriteNumber("documents", shard.Documents);
            writer.WriteNumber("tokens", shard.Tokens);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    });

    /// <summary>The manifest in <paramref name="folder"/>, or null when there is none.</summary>
    /// <exception cref="EncoderKitException">The manifest is malformed.</exception>
    public static CorpusManifest? Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        JsonObject root = PythonJson.Parse(File.ReadAllBytes(path), path, ErrorKind.BadConfig) as JsonObject
            ?? throw new EncoderKitException(ErrorKind.BadConfig, "expected a JSON object", path);
        T Field<T>(JsonObject o, string name)
        {
            try
            {
                return o[name] is { } node ? node.GetValue<T>() : throw new EncoderKitException(ErrorKind.BadConfig, "missing", path, name);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new EncoderKitException(ErrorKind.BadConfig, $"not a {typeof(T).Name}", path, name, e);
            }
        }
        int version = Field<int>(root, "version");
        if (Field<string>(root, "format") != FormatName || version is not (1 or 2))
            throw new EncoderKitException(ErrorKind.BadConfig, $"not a version 1 or 2 {FormatName} manifest", path, "format");
        int tokenBytes = version == 1 ? 4 : Field<int>(root, "token_bytes");
        if (tokenBytes is not (2 or 4)) throw new EncoderKitException(ErrorKind.BadConfig, $"{tokenBytes} bytes per token, not 2 or 4", path, "token_bytes");
        TEnum Enum<TEnum>(string name) where TEnum : struct, Enum =>
            System.Enum.TryParse(Field<string>(root, name), ignoreCase: true, out TEnum value) ? value
                : throw new EncoderKitException(ErrorKind.BadConfig, $"unknown value \"{Field<string>(root, name)}\"", path, name);
        JsonArray List(string name) => root[name] as JsonArray ?? throw new EncoderKitException(ErrorKind.BadConfig, "missing, or not a list", path, name);
        return new CorpusManifest
        {
            Tokenizer = Field<string>(root, "tokenizer"),
            VocabSize = Field<int>(root, "vocab_size"),
            VocabSha256 = Field<string>(root, "vocab_sha256"),
            TokenBytes = tokenBytes,
            WordSegmentation = Enum<WordSegmentation>("word_segmentation"),
            DocumentFormat = Enum<DocumentFormat>("document_format"),
            Inputs = [.. List("inputs").Select(i => i?.GetValue<string>() ?? "")],
            InputDocumentsDone = Field<long>(root, "input_documents_done"),
            Complete = Field<bool>(root, "complete"),
            Shards = [.. List("shards").Select(s => s as JsonObject ?? throw new EncoderKitException(ErrorKind.BadConfig, "a shard is not an object", path, "shards"))
                .Select(s => new CorpusShard(Field<string>(s, "name"), Field<long>(s, "documents"), Field<long>(s, "tokens")))],
        };
    }
}
