using System.Text;

namespace EncoderKit.Tokenization.Models;

/// <summary>How a piece of a Unigram vocabulary takes part in segmentation (SentencePiece's piece types).</summary>
internal enum PieceType : byte { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

/// <summary>
/// A Unigram model: the segmentation with the highest total piece score (Viterbi), chars no piece covers scored
/// as unknown (min score − 10). Two flavours, because the two references differ in small ways:
/// <list type="bullet">
/// <item><c>tokenizer.json</c> ({"type": "Unigram", "vocab": [[piece, score]...], "unk_id", "byte_fallback"}) as Hugging Face
/// <c>tokenizers</c> does it: f64 scores, every vocabulary entry can match, runs of unknown chars fused into one token,
/// byte-fallback tokens all spanning the unknown text.</item>
/// <item>a SentencePiece <c>.model</c> as the SentencePiece library does it: f32 scores summed as the library sums
/// them, only normal and user-defined pieces match (user-defined ones with a bonus), each unknown char its own
/// token, and of its byte-fallback tokens only the last spans the char (the others are empty at its start).</item>
/// </list>
/// </summary>
internal sealed class Unigram : ITokenizerModel
{
    const double UnkPenalty = 10.0;
    readonly string[] _pieces;
    readonly double[] _scores;
    readonly PieceType[] _types;
    readonly Dictionary<string, int> _ids;
    readonly PieceTrie _trie;
    readonly int? _unkId;
    readonly int[] _byteIds;
    readonly double _minScore;
    readonly float _maxScoreF;
    readonly bool _sentencePiece;

    public Unigram(IReadOnlyList<(string Piece, double Score, PieceType Type)> vocab, int? unkId, bool byteFallback, bool sentencePieceRules)
    {
        _sentencePiece = sentencePieceRules;
        int n = vocab.Count;
        _pieces = new string[n];
        _scores = new double[n];
        _types = new PieceType[n];
        _ids = new Dictionary<string, int>(n, StringComparer.Ordinal);
        _trie = new PieceTrie();
        for (int i = 0; i < n; i++)
        {
            var (piece, score, type) = vocab[i];
            _pieces[i] = piece;
            _scores[i] = score;
            _types[i] = type;
            _ids.TryAdd(piece, i);
            bool inTrie = !sentencePieceRules || type is PieceType.Normal or PieceType.UserDefined or PieceType.Unused;
            if (inTrie && piece.Length > 0) _trie.Add(piece, i);
        }
        _unkId = unkId;
        ByteFallback = byteFallback;
        _byteIds = new int[256];
        for (int b = 0; b < 256; b++) _byteIds[b] = _ids.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
        if (sentencePieceRules)
        {
            float min = float.MaxValue, max = float.MinValue;
            for (int i = 0; i < n; i++)
                if (_types[i] == PieceType.Normal) { min = Math.Min(min, (float)_scores[i]); max = Math.Max(max, (float)_scores[i]); }
            _minScore = min;
            _maxScoreF = max;
        }
        else _minScore = n == 0 ? 0 : _scores.Min();
    }

    public bool ByteFallback { get; }
    public int VocabSize => _pieces.Length;
    public int? UnkId => _unkId;
    public int? TokenToId(string token) => _ids.TryGetValue(token, out int id) ? id : null;
    public string? IdToToken(int id) => (uint)id < (uint)_pieces.Length ? _pieces[id] : null;
    public PieceType TypeOf(int id) => _types[id];

    struct Best { public int Id, StartsAt; public double Score; public float ScoreF; }

    public void Tokenize(ReadOnlySpan<char> text, List<Token> output)
    {
        if (text.IsEmpty) return;
        int size = text.Length;
        var best = new Best[size + 1];
        for (int i = 1; i <= size; i++) best[i].StartsAt = -1;
        double unkScore = _minScore - UnkPenalty;
        for (int start = 0; start < size;)
        {
            int charLength = char.IsHighSurrogate(text[start]) && start + 1 < size && char.IsLowSurrogate(text[start + 1]) ? 2 : 1;
            bool hasSingle = false;
            double tillHere = _sentencePiece ? best[start].ScoreF : best[start].Score;
            int node = 0;
            for (int k = start; k < size; k++)
            {
                node = _trie.Child(node, text[k]);
                if (node < 0) break;
                int id = _trie.Value(node);
                if (id < 0) continue;
                int end = k + 1;
                if (end < size && char.IsLowSurrogate(text[end]) && char.IsHighSurrogate(text[k])) continue;   // mid-char
                if (_sentencePiece && _types[id] == PieceType.Unused) continue;
                Offer(best, end, start, id, Score(id, text[start..end]), tillHere);
                if (end - start == charLength) hasSingle = true;
            }
            if (!hasSingle) Offer(best, start + charLength, start, _unkId ?? -1, unkScore, tillHere);
            start += charLength;
        }
        Emit(text, best, output);
    }

    double Score(int id, ReadOnlySpan<char> piece)
    {
        if (_sentencePiece && _types[id] == PieceType.UserDefined)
            return System.Text.Encoding.UTF8.GetByteCount(piece) * (double)_maxScoreF - 0.1;   // "always selected" bonus, as the library
        return _scores[id];
    }

    void Offer(Best[] best, int end, int start, int id, double score, double tillHere)
    {
        ref var target = ref best[end];
        // SentencePiece adds in double and compares with the float it stored; tokenizers works in f64 throughout.
        double candidate = score + tillHere;
        double current = _sentencePiece ? target.ScoreF : target.Score;
        if (target.StartsAt == -1 || candidate > current)
        {
            target.StartsAt = start;
            target.Id = id;
            target.Score = candidate;
            target.ScoreF = (float)candidate;
        }
    }

    void Emit(ReadOnlySpan<char> text, Best[] best, List<Token> output)
    {
        var path = new List<(int Id, int Start, int End)>();
        for (int end = text.Length; end > 0;)
        {
            var b = best[end];
            path.Add((b.Id, b.StartsAt, end));
            end = b.StartsAt;
        }
        path.Reverse();
        if (!_sentencePiece && _unkId is int unk)
        {
            // tokenizers fuses runs of unknown pieces.
            var fused = new List<(int Id, int Start, int End)>(path.Count);
            foreach (var p in path)
            {
                if (p.Id == unk && fused.Count > 0 && fused[^1].Id == unk) fused[^1] = (unk, fused[^1].Start, p.End);
                else fused.Add(p);
            }
            path = fused;
        }
        foreach (var (id, s, e) in path)
        {
            bool unknown = id < 0 || id == _unkId;
            if (unknown && ByteFallback && TryBytes(text[s..e], s, e, output)) continue;
            if (id < 0) continue;   // no unk piece at all: the text is dropped (documented on Tokenizer)
            if (_sentencePiece && unknown && output.Count > 0 && output[^1].Id == id && output[^1].End == s)
            {
                output[^1] = output[^1] with { End = e };   // SentencePiece merges runs of unknown chars
                continue;
            }
            output.Add(new Token(id, _pieces[id], s, e));
        }
    }

    bool TryBytes(ReadOnlySpan<char> piece, int start, int end, List<Token> output)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(piece.ToString());
        foreach (byte b in bytes) if (_byteIds[b] < 0) return false;
        for (int k = 0; k < bytes.Length; k++)
        {
            int id = _byteIds[bytes[k]];
            bool last = k == bytes.Length - 1;
            output.Add(_sentencePiece && !last ? new Token(id, _pieces[id], start, start) : new Token(id, _pieces[id], start, end));
        }
        return true;
    }

    /// <summary>A char trie of the pieces: one dictionary of edges keyed by (node, char).</summary>
    sealed class PieceTrie
    {
        readonly Dictionary<long, int> _edges = new();
        readonly List<int> _values = [-1];

        public void Add(string piece, int id)
        {
            int node = 0;
            foreach (char c in piece)
            {
                long key = (long)node << 16 | c;
                if (!_edges.TryGetValue(key, out int next))
                {
                    next = _values.Count;
                    _values.Add(-1);
                    _edges[key] = next;
                }
                node = next;
            }
            if (_values[node] < 0) _values[node] = id;
        }

        public int Child(int node, char c) => _edges.TryGetValue((long)node << 16 | c, out int next) ? next : -1;

        public int Value(int node) => _values[node];
    }
}

/// <summary>{"type": "WordLevel", "vocab", "unk_token"}: each pre-tokenized word is one token (or the unknown token).</summary>
internal sealed class WordLevel(Vocabulary vocab, string? unkToken) : ITokenizerModel
{
    public int VocabSize => vocab.Count;
    public int? TokenToId(string token) => vocab[token];
    public string? IdToToken(int id) => vocab.Token(id);

    public void Tokenize(ReadOnlySpan<char> word, List<Token> output)
    {
        if (vocab.TryGet(word, out int id)) output.Add(new Token(id, vocab.TokenOf(id), 0, word.Length));
        else if (unkToken is not null && vocab[unkToken] is int unk) output.Add(new Token(unk, unkToken, 0, word.Length));
        else throw new EncoderKitException(ErrorKind.BadTokenizer, $"word \"{word}\" is not in the WordLevel vocabulary and there is no unknown token");
    }
}
