using EncoderKit.IO;
using System.Buffers.Binary;
using System.Text;
using EncoderKit.Tokenization.Decoders;
using EncoderKit.Tokenization.Models;
using EncoderKit.Tokenization.Normalizers;
using EncoderKit.Tokenization.PostProcessors;

namespace EncoderKit.Tokenization;

/// <summary>
/// Reads a SentencePiece <c>.model</c> (a ModelProto in protobuf wire format, read by hand: we need five fields)
/// and builds the pipeline the SentencePiece library runs: its normalizer, Unigram with byte fallback, and the
/// BOS/EOS the tokenizer_config.json asks for.
/// </summary>
internal static class SentencePieceModel
{
    internal sealed record Proto(List<(string Piece, float Score, PieceType Type)> Pieces, int ModelType, bool ByteFallback,
        bool TreatWhitespaceAsSuffix, byte[]? CharsMap, bool AddDummyPrefix, bool RemoveExtraWhitespaces, bool EscapeWhitespaces);

    public static Proto Read(string path)
    {
        byte[] data = UserFile.Read(path, () => File.ReadAllBytes(path));
        var pieces = new List<(string, float, PieceType)>();
        int modelType = 1;
        bool byteFallback = false, suffix = false, dummy = true, removeExtra = true, escape = true;
        byte[]? charsMap = null;
        try
        {
            var top = new Wire(data);
            while (top.Next(out int field, out int wireType))
            {
                switch (field)
                {
                    case 1 when wireType == 2:
                    {
                        var p = new Wire(top.Bytes());
                        string piece = "";
                        float score = 0;
                        var type = PieceType.Normal;
                        while (p.Next(out int f, out int wt))
                        {
                            if (f == 1 && wt == 2) piece = System.Text.Encoding.UTF8.GetString(p.Bytes());
                            else if (f == 2 && wt == 5) score = p.Fixed32Float();
                            else if (f == 3 && wt == 0) type = (PieceType)p.Varint();
                            else p.Skip(wt);
                        }
                        pieces.Add((piece, score, type));
                        break;
                    }
                    case 2 when wireType == 2:
                    {
                        var t = new Wire(top.Bytes());
                        while (t.Next(out int f, out int wt))
                        {
                            if (f == 3 && wt == 0) modelType = (int)t.Varint();
                            else if (f == 35 && wt == 0) byteFallback = t.Varint() != 0;
                            else if (f == 24 && wt == 0) suffix = t.Varint() != 0;
                            else t.Skip(wt);
                        }
                        break;
                    }
                    case 3 when wireType == 2:
                    {
                        var n = new Wire(top.Bytes());
                        while (n.Next(out int f, out int wt))
                        {
                            if (f == 2 && wt == 2) charsMap = n.Bytes().ToArray();
                            else if (f == 3 && wt == 0) dummy = n.Varint() != 0;
                            else if (f == 4 && wt == 0) removeExtra = n.Varint() != 0;
                            else if (f == 5 && wt == 0) escape = n.Varint() != 0;
                            else n.Skip(wt);
                        }
                        break;
                    }
                    default:
                        top.Skip(wireType);
                        break;
                }
            }
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or InvalidDataException or OverflowException)
        {
            throw new EncoderKitException(ErrorKind.BadTokenizer, "not a SentencePiece model (malformed protobuf)", path, inner: e);
        }
        if (pieces.Count == 0) throw new EncoderKitException(ErrorKind.BadTokenizer, "the SentencePiece model has no pieces", path);
        return new Proto(pieces, modelType, byteFallback, suffix, charsMap is { Length: > 0 } ? charsMap : null, dummy, removeExtra, escape);
    }

    public static Tokenizer Build(string path, TokenizerConfig config)
    {
        var proto = Read(path);
        if (proto.ModelType != 1)
            throw new EncoderKitException(ErrorKind.BadTokenizer,
                $"SentencePiece model type {proto.ModelType} is not supported (only Unigram, type 1)", path, "trainer_spec.model_type");
        if (proto.TreatWhitespaceAsSuffix)
            throw new EncoderKitException(ErrorKind.BadTokenizer, "treat_whitespace_as_suffix is not supported", path, "trainer_spec");
        int? unkId = proto.Pieces.FindIndex(p => p.Type == PieceType.Unknown) is int u and >= 0 ? u : null;
        var model = new Unigram(proto.Pieces.Select(p => (p.Piece, (double)p.Score, p.Type)).ToList(), unkId, proto.ByteFallback, sentencePieceRules: true);
        var normalizer = new SentencePieceNormalizer(proto.CharsMap is null ? null : new CharsMap(proto.CharsMap, path),
            proto.AddDummyPrefix, proto.RemoveExtraWhitespaces, proto.EscapeWhitespaces);

        // Special tokens: the names the config files give (matched in text as one token, as transformers does), and
        // the model's user-defined pieces. A configured name missing from the model, such as llm-jp v3's
        // "<MASK|LLM-jp>", names the control piece it renames ("<MASK>"): the published checkpoints use those ids
        // (retrieva-jp/bert-1.3b's pad_token_id is 4, the id of "<PAD>"). Otherwise it gets the next free id.
        var specials = config.Specials;
        var added = new List<AddedToken>();
        int nextId = proto.Pieces.Count;
        foreach (var name in config.AllSpecialTokens.Concat(new[] { specials.Unk, specials.Bos, specials.Eos }.OfType<string>()).Distinct())
        {
            int? id = model.TokenToId(name) ?? RenamedControl(model, name);
            added.Add(new AddedToken(id ?? nextId++, name, Special: true));
        }
        foreach (var t in config.AddedTokens) if (added.All(a => a.Content != t.Content)) added.Add(t);
        for (int i = 0; i < proto.Pieces.Count; i++)
            if (proto.Pieces[i].Type == PieceType.UserDefined && added.All(a => a.Content != proto.Pieces[i].Piece))
                added.Add(new AddedToken(i, proto.Pieces[i].Piece, Special: false));

        string? bos = specials.Bos ?? (proto.Pieces.Count > 1 && proto.Pieces[1].Type == PieceType.Control ? proto.Pieces[1].Piece : null);
        string? eos = specials.Eos ?? (proto.Pieces.Count > 2 && proto.Pieces[2].Type == PieceType.Control ? proto.Pieces[2].Piece : null);
        bool addBos = config.AddBosToken ?? true, addEos = config.AddEosToken ?? false;
        int? Id(string? name) => name is null ? null : added.FirstOrDefault(a => a.Content == name)?.Id ?? model.TokenToId(name);
        var single = new List<TemplatePiece>();
        var pair = new List<TemplatePiece>();
        var templateTokens = new Dictionary<string, TemplateSpecialToken>();
        if (addBos && bos is not null && Id(bos) is int bosId)
        {
            templateTokens[bos] = new TemplateSpecialToken(bos, [bosId], [bos]);
            single.Add(new TemplatePiece.SpecialToken(bos, 0));
        }
        single.Add(new TemplatePiece.Sequence(false, 0));
        if (addEos && eos is not null && Id(eos) is int eosId)
        {
            templateTokens[eos] = new TemplateSpecialToken(eos, [eosId], [eos]);
            single.Add(new TemplatePiece.SpecialToken(eos, 0));
        }
        // transformers' Llama-style pair: the single template again for B, with type id 1.
        pair.AddRange(single);
        pair.AddRange(single.Select(p => p switch
        {
            TemplatePiece.Sequence => (TemplatePiece)new TemplatePiece.Sequence(true, 1),
            TemplatePiece.SpecialToken s => new TemplatePiece.SpecialToken(s.Name, 1),
            _ => p,
        }));
        var post = new TemplateProcessing(single, pair, templateTokens);

        var decoders = new List<IDecoder>
        {
            new ReplaceDecoder(TextPattern.Literal("\u2581"), " "), new ByteFallbackDecoder(), new FuseDecoder(),
        };
        if (proto.AddDummyPrefix) decoders.Add(new StripDecoder(' ', 1, 0));

        var names = specials with
        {
            Unk = specials.Unk ?? (unkId is int uid ? proto.Pieces[uid].Piece : null),
            Bos = bos,
            Eos = eos,
        };
        return new Tokenizer(normalizer, null, model, post, new DecoderSequence(decoders), added, names);
    }

    static int? RenamedControl(Unigram model, string name)
    {
        int bar = name.IndexOf('|');
        if (bar <= 0 || !name.EndsWith('>')) return null;
        string plain = name[..bar] + ">";
        return model.TokenToId(plain) is int id && model.TypeOf(id) == PieceType.Control ? id : null;
    }

    /// <summary>A minimal protobuf wire-format reader.</summary>
    ref struct Wire(ReadOnlySpan<byte> data)
    {
        readonly ReadOnlySpan<byte> _data = data;
        int _pos;

        public bool Next(out int field, out int wireType)
        {
            if (_pos >= _data.Length) { field = wireType = 0; return false; }
            ulong key = Varint();
            field = (int)(key >> 3);
            wireType = (int)(key & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong result = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                byte b = _data[_pos++];
                result |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return result;
            }
            throw new InvalidDataException("varint too long");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            int length = checked((int)Varint());
            if (length < 0 || _pos + length > _data.Length) throw new InvalidDataException("length beyond the data");
            var s = _data.Slice(_pos, length);
            _pos += length;
            return s;
        }

        public float Fixed32Float()
        {
            float f = BinaryPrimitives.ReadSingleLittleEndian(_data.Slice(_pos, 4));
            _pos += 4;
            return f;
        }

        public void Skip(int wireType)
        {
            switch (wireType)
            {
                case 0: Varint(); break;
                case 1: _pos += 8; break;
                case 2: Bytes(); break;
                case 5: _pos += 4; break;
                default: throw new InvalidDataException($"unknown wire type {wireType}");
            }
            if (_pos > _data.Length) throw new InvalidDataException("field beyond the data");
        }
    }
}
