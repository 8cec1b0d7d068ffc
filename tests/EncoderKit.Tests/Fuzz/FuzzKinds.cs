using System.Buffers.Binary;
using Encoding = System.Text.Encoding;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Tokenization;

namespace EncoderKit.Tests.Fuzz;

/// <summary>
/// A kind of file the loaders read from users: valid seeds, how to mutate them, and the public loader to run on a
/// mutant (written into a scratch folder that <see cref="Prepare"/> filled with the files around it).
/// </summary>
public sealed record FuzzKind(string Name, IReadOnlyList<byte[]> Seeds, Func<byte[], Random, byte[]> Mutate, Action<string> Prepare, Action<string, byte[]> Load);

/// <summary>The kinds: safetensors headers, config.json, tokenizer.json, tokenizer_config.json, SentencePiece .model, modules.json, JSONL input.</summary>
public static class FuzzKinds
{
    /// <param name="reference">The shared reference folder (fixtures); <param name="repository">the repository root.</param></param>
    public static IReadOnlyList<FuzzKind> All(string reference, string repository) =>
    [
        Safetensors(), Config(reference), TokenizerJson(repository), TokenizerConfig(reference), SentencePiece(reference), Modules(reference), Jsonl(),
    ];

    /// <summary>The folder holding EncoderKit.slnx, above this program.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EncoderKit.slnx"))) return dir.FullName;
        throw new InvalidOperationException("no EncoderKit.slnx above " + AppContext.BaseDirectory);
    }

    static readonly string[] Texts = ["Hello, world! unaffable ab", "  \u2581日本語のテキスト <s> [MASK] é\u0301 \U0001F600 <0x41>"];

    /// <summary>Loads are only half the story: a tokenizer that loaded must also encode and decode without escaping.</summary>
    static void Exercise(Tokenizer tokenizer)
    {
        var e = tokenizer.Encode(Texts[0], Texts[1], new EncodeOptions { MaxLength = 16, Stride = 2 });
        tokenizer.Decode(e.Ids);
        tokenizer.Decode(tokenizer.Encode(Texts[1]).Ids, skipSpecialTokens: false);
    }

    static FuzzKind Safetensors()
    {
        static byte[] File(string header, int dataBytes)
        {
            byte[] json = Encoding.UTF8.GetBytes(header);
            var bytes = new byte[8 + json.Length + dataBytes];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
            json.CopyTo(bytes, 8);
            for (int i = 8 + json.Length; i < bytes.Length; i++) bytes[i] = (byte)i;
            return bytes;
        }
        byte[][] seeds =
        [
            File("""{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]},"c":{"dtype":"I64","shape":[],"data_offsets":[32,40]}}""", 40),
            File("""{"embeddings.word_embeddings.weight":{"dtype":"F16","shape":[3,2],"data_offsets":[0,12]},"x":{"dtype":"BOOL","shape":[0,5],"data_offsets":[12,12]}}""", 12),
        ];
        return new FuzzKind("safetensors", seeds, MutateSafetensors, _ => { }, (dir, input) =>
        {
            string path = Path.Combine(dir, "model.safetensors");
            System.IO.File.WriteAllBytes(path, input);
            using var file = SafetensorsFile.Open(path);
            foreach (TensorInfo t in file.Tensors) file.Bytes(t.Name);
        });
    }

    // The header is where the parsing is: mutate it as JSON and fix up the length prefix, or corrupt the prefix itself.
    static byte[] MutateSafetensors(byte[] seed, Random rng)
    {
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(seed);
        switch (rng.Next(3))
        {
            case 0:
            {
                byte[] header = Mutator.Mutate(seed[8..(8 + headerLength)], rng, json: true);
                var bytes = new byte[8 + header.Length + seed.Length - 8 - headerLength];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
                header.CopyTo(bytes, 8);
                seed.AsSpan(8 + headerLength).CopyTo(bytes.AsSpan(8 + header.Length));
                return bytes;
            }
            case 1:
            {
                byte[] bytes = (byte[])seed.Clone();
                ulong[] lengths = [0, 1, (ulong)headerLength - 1, (ulong)headerLength + 1, (ulong)seed.Length, ulong.MaxValue, 1UL << 31, 100_000_001, (ulong)rng.NextInt64()];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, lengths[rng.Next(lengths.Length)]);
                return bytes;
            }
            default:
                return Mutator.Mutate(seed, rng, json: false);
        }
    }

    static FuzzKind Config(string reference)
    {
        var seeds = Directory.GetDirectories(Path.Combine(reference, "models")).Order(StringComparer.Ordinal)
            .Select(d => Path.Combine(d, "config.json")).Where(System.IO.File.Exists).Select(System.IO.File.ReadAllBytes).ToList();
        return new FuzzKind("config.json", seeds, (s, r) => Mutator.Mutate(s, r, json: true), _ => { }, (dir, input) =>
        {
            string path = Path.Combine(dir, "config.json");
            System.IO.File.WriteAllBytes(path, input);
            ConfigJson config = ConfigJson.Load(path);
            ModelFamilies.Recognize(config).Spec(config, null);
        });
    }

    static FuzzKind TokenizerJson(string repository)
    {
        string tiny = Path.Combine(repository, "tests", "EncoderKit.Tests", "Tokenization", "Data", "tiny");
        var seeds = Directory.GetFiles(tiny, "*.json").Order(StringComparer.Ordinal).Select(System.IO.File.ReadAllBytes).ToList();
        seeds.Add(WordPieceJson);
        return new FuzzKind("tokenizer.json", seeds, (s, r) => Mutator.Mutate(s, r, json: true), _ => { }, (dir, input) =>
        {
            string path = Path.Combine(dir, "tokenizer.json");
            System.IO.File.WriteAllBytes(path, input);
            Exercise(Tokenizer.FromFile(path));
        });
    }

    static readonly byte[] WordPieceJson = Encoding.UTF8.GetBytes("""
        {"version": "1.0", "truncation": null, "padding": null,
         "added_tokens": [{"id": 0, "content": "[PAD]", "special": true, "normalized": false, "single_word": false, "lstrip": false, "rstrip": false},
                          {"id": 2, "content": "[CLS]", "special": true}, {"id": 3, "content": "[SEP]", "special": true}, {"id": 4, "content": "[MASK]", "special": true, "lstrip": true}],
         "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
         "pre_tokenizer": {"type": "BertPreTokenizer"},
         "post_processor": {"type": "TemplateProcessing",
           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
           "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
           "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
         "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
         "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
           "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "un": 5, "##aff": 6, "##able": 7, "hello": 8, ",": 9, "world": 10, "!": 11, "a": 12, "##b": 13}}}
        """);

    static FuzzKind TokenizerConfig(string reference)
    {
        string modern = Path.Combine(reference, "tokenizers", "modernbert-embed-base");
        string llm = Path.Combine(reference, "tokenizers", "retrieva-bert-1.3b");
        byte[][] seeds =
        [
            System.IO.File.ReadAllBytes(Path.Combine(modern, "tokenizer_config.json")), System.IO.File.ReadAllBytes(Path.Combine(modern, "special_tokens_map.json")),
            System.IO.File.ReadAllBytes(Path.Combine(llm, "tokenizer_config.json")), System.IO.File.ReadAllBytes(Path.Combine(llm, "special_tokens_map.json")),
        ];
        // Each mutant plays both files in turn, beside a fixed tokenizer.json and a fixed vocab.txt folder.
        return new FuzzKind("tokenizer_config", seeds, (s, r) => Mutator.Mutate(s, r, json: true), dir =>
        {
            Directory.CreateDirectory(Path.Combine(dir, "json"));
            Directory.CreateDirectory(Path.Combine(dir, "vocab"));
            System.IO.File.WriteAllBytes(Path.Combine(dir, "json", "tokenizer.json"), WordPieceJson);
            System.IO.File.WriteAllLines(Path.Combine(dir, "vocab", "vocab.txt"), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "##s", "a", "<unk>", "<s>", "</s>", "<CLS|LLM-jp>", "<SEP|LLM-jp>", "<PAD|LLM-jp>", "<MASK|LLM-jp>"]);
        }, (dir, input) =>
        {
            foreach (string folder in new[] { "json", "vocab" })
            foreach (string name in new[] { "tokenizer_config.json", "special_tokens_map.json" })
            {
                string path = Path.Combine(dir, folder, name);
                System.IO.File.WriteAllBytes(path, input);
                try { Exercise(Tokenizer.FromFolder(Path.Combine(dir, folder))); }
                finally { System.IO.File.Delete(path); }
            }
        });
    }

    static FuzzKind SentencePiece(string reference)
    {
        byte[] seed = SmallSentencePieceModel(Path.Combine(reference, "tokenizers", "retrieva-bert-1.3b", "llm-jp-tokenizer-100k.ver3.0b1.model"), pieces: 400);
        return new FuzzKind("sentencepiece", [seed], MutateProtobuf, _ => { }, (dir, input) =>
        {
            string path = Path.Combine(dir, "tokenizer.model");
            System.IO.File.WriteAllBytes(path, input);
            Exercise(Tokenizer.FromSentencePiece(path));
        });
    }

    /// <summary>The reference llm-jp model cut to its first pieces (its specials and byte pieces) plus its trainer and normalizer specs.</summary>
    static byte[] SmallSentencePieceModel(string path, int pieces)
    {
        byte[] data = System.IO.File.ReadAllBytes(path);
        var kept = new MemoryStream();
        int at = 0, seen = 0;
        while (at < data.Length)
        {
            int start = at;
            ulong key = Varint(data, ref at);
            if ((key & 7) != 2) throw new InvalidDataException("unexpected top-level field in the reference model");
            int length = (int)Varint(data, ref at);
            at += length;
            if (key >> 3 != 1 || seen++ < pieces) kept.Write(data, start, at - start);
        }
        return kept.ToArray();
    }

    static ulong Varint(byte[] data, ref int at)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
    }

    // Byte mutations, plus varints set to boundary values (lengths, piece types, model type) where protobuf keeps them.
    static byte[] MutateProtobuf(byte[] seed, Random rng)
    {
        if (rng.Next(2) == 0) return Mutator.Mutate(seed, rng, json: false);
        var bytes = new List<byte>(seed);
        for (int edits = rng.Next(1, 4); edits > 0; edits--)
        {
            int at = rng.Next(bytes.Count);
            byte[] value = new[] { new byte[] { 0 }, [0x7F], [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
                [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], [2], [5], [6] }[rng.Next(8)];
            bytes.RemoveAt(at);
            bytes.InsertRange(at, value);
        }
        return bytes.ToArray();
    }

    static FuzzKind Modules(string reference)
    {
        byte[][] seeds =
        [
            Encoding.UTF8.GetBytes("""
                [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                 {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
                """),
            Encoding.UTF8.GetBytes("""
                [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                 {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]
                """),
        ];
        return new FuzzKind("modules.json", seeds, (s, r) => Mutator.Mutate(s, r, json: true), dir =>
        {
            System.IO.File.Copy(Path.Combine(reference, "models", "bert", "config.json"), Path.Combine(dir, "config.json"));
            System.IO.File.WriteAllText(Path.Combine(dir, "sentence_bert_config.json"), """{"max_seq_length": 128, "do_lower_case": false}""");
            Directory.CreateDirectory(Path.Combine(dir, "1_Pooling"));
            System.IO.File.WriteAllText(Path.Combine(dir, "1_Pooling", "config.json"), """{"word_embedding_dimension": 64, "pooling_mode_mean_tokens": true}""");
            Directory.CreateDirectory(Path.Combine(dir, "2_Normalize"));
        }, (dir, input) =>
        {
            System.IO.File.WriteAllBytes(Path.Combine(dir, "modules.json"), input);
            SentenceTransformerConfig.Read(dir);
        });
    }

    static FuzzKind Jsonl()
    {
        byte[][] seeds =
        [
            Encoding.UTF8.GetBytes("{\"text\": \"hello world\"}\n{\"text\": \"a\", \"text_pair\": \"b\"}\n{\"text\": \"\\u00e9\\ud83d\\ude00\", \"text_pair\": null}\n"),
            Encoding.UTF8.GetBytes("{\"input_ids\": [2, 8, 3], \"token_type_ids\": [0, 0, 0]}\n{\"input_ids\": [2, 3]}\n"),
        ];
        // The CLI's own reader, as every command that takes --jsonl runs it.
        var invocation = new EncoderKit.Cli.CliInvocation(TextReader.Null, TextWriter.Null, TextWriter.Null, new Dictionary<string, string?>());
        return new FuzzKind("jsonl", seeds, MutateLines, _ => { }, (dir, input) =>
        {
            string path = Path.Combine(dir, "input.jsonl");
            System.IO.File.WriteAllBytes(path, input);
            EncoderKit.Cli.Commands.TextInput.Read(invocation, [], path, jsonl: true);
        });
    }

    // Mutate one line as JSON (the others stay valid), or the whole file as bytes.
    static byte[] MutateLines(byte[] seed, Random rng)
    {
        if (rng.Next(3) == 0) return Mutator.Mutate(seed, rng, json: false);
        var lines = Encoding.UTF8.GetString(seed).Split('\n');
        int i = rng.Next(lines.Length - 1);
        byte[] line = Mutator.Mutate(Encoding.UTF8.GetBytes(lines[i]), rng, json: true);
        var result = new List<byte>();
        for (int j = 0; j < lines.Length; j++)
        {
            result.AddRange(j == i ? line.Where(b => b != '\n') : Encoding.UTF8.GetBytes(lines[j]));
            if (j < lines.Length - 1) result.Add((byte)'\n');
        }
        return result.ToArray();
    }
}
